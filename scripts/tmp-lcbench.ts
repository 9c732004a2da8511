import { runLogcheckBench } from './bench/logcheck.ts';
console.log(runLogcheckBench((t) => process.stderr.write(t + '\n')).join('\n'));
