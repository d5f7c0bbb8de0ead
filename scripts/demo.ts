// `npm run demo [-- --exit] [-- --fast]`: the whole system on this machine, no Azure account needed.
// Reads the command line and environment once, handles Ctrl-C, and hands over to scripts/demo/run.ts.
import { homedir, userInfo } from 'node:os';
import { defaultStateDir } from './controlplane/layout.ts';
import { parseArguments, USAGE } from './demo/options.ts';
import { runDemo } from './demo/run.ts';

const parsed = parseArguments(process.argv.slice(2));
if (!parsed.ok) {
  for (const problem of parsed.problems) console.error(`demo: ${problem}`);
  console.error(USAGE);
  process.exitCode = parsed.help ? 0 : 2;
} else {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    // Later signals change nothing: the first one already started stopping everything, in order.
    if (stop.signal.aborted)
      console.log(`demo: ${signal} again; still stopping what it started, please wait`);
    else stop.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const sharedStateDir = defaultStateDir(process.env, userInfo().uid);
  process.exitCode = await runDemo(
    parsed.options,
    {
      env: process.env,
      home: homedir(),
      sharedStateDir,
      privateStateDir: `${sharedStateDir}-demo-${process.pid}`,
    },
    {
      line: (text) => {
        console.log(text);
      },
      write: (text) => process.stdout.write(text),
      redraw: process.stdout.isTTY,
    },
    stop.signal,
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
