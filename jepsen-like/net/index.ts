// Public surface of the network-fault layer: proxies, the cluster mesh, partition shapes.
export * from './partition-shapes.js';
export * from './link-faults.js';
export * from './net-errors.js';
export { SeededRandom, randomSeed } from './seeded-random.js';
export { TcpProxy, type TcpProxyOptions, type TcpProxyStats, type ProxyState, type BlockMode } from './tcp-proxy.js';
export { ProxyMesh, gridProxyPorts, type MeshNode, type ProxyMeshOptions } from './proxy-mesh.js';
export { waitForPort } from './wait-for-port.js';
