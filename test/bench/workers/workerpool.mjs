import workerpool from 'workerpool';
import { handle } from '../handler.mjs';

workerpool.worker({ h: handle });
