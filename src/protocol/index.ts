// Public surface of the remoting protocol layer, for the broker, the client SDK and the CLI.
export * from './request-code.js';
export * from './response-code.js';
export * from './remoting-command.js';
export * from './protocol-errors.js';
export * from './frame-codec.js';
export * from './frame-writer.js';
export * from './headers.js';
export * from './send-message-header.js';
export * from './route-data.js';
export * from './remoting-server.js';
export * from './remoting-client.js';
export * from './acl-signature.js';
export * from './mq-table.js';
export * from './code-names.js';
