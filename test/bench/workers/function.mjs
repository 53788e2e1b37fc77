// piscina and tinypool: the default export is the task function.
export { handle as default } from '../handler.mjs';
