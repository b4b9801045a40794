// A promise that resolves after `ms`; the CLI's only way to wait.
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
