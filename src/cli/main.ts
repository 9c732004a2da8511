/**
 * @module cli/main
 * The entry point: runs one command line (cli/dispatch) on this process's streams and turns its
 * result into the exit status. Exit statuses (ExitCodes): 0 success, 1 failure at run time, 3
 * `status` with no daemon, 64 usage error, 77 not allowed, 78 configuration error.
 */
import { ExitCodes } from '../exit-codes.ts';
import { describeError } from '../errors.ts';
import { dispatch } from './dispatch.ts';

dispatch(process.argv.slice(2), { out: process.stdout, err: process.stderr }).then(
  (code) => {
    process.exitCode = code;
    // A stopped daemon exits even if some library left a handle open.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(`portsnare: ${describeError(err)}\n`);
    process.exitCode = ExitCodes.FAILURE;
  },
);
