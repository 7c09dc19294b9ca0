export { encodeNpy, NpyFormatError, readNpy, type NpyArray, type NpyData, type NpyDtype } from './npy.js';
