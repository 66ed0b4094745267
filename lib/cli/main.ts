#!/usr/bin/env node
// The `fcnet` command: one subcommand per job. A new command is a CommandSpec (./command.ts) in its own file
// and one line in `commands` below.
//
// Exit codes (docs/cli.md#exit-codes): 0 done; 1 a run-time failure; 2 a mistake in the command line, found
// before any work starts; 128 + the signal's number when a signal stopped a run (130 SIGINT, 143 SIGTERM,
// 129 SIGHUP).
import { benchSpec } from './bench';
import { execute, type CommandContext, type CommandSpec } from './command';
import { doctorSpec } from './doctor';
import { evalSpec } from './eval';
import { exportSpec } from './export';
import { predictSpec } from './predict';
import { serveDemoSpec } from './serve-demo';
import { trainSpec } from './train';
import { UsageError } from './args';
import { Interrupted } from './signals';

/** Every command, in the order `fcnet --help` lists them. */
export const commands: readonly CommandSpec[] = [trainSpec, evalSpec, predictSpec, exportSpec, serveDemoSpec, benchSpec, doctorSpec];

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Runs the command line `argv` (without `node` and the script) and returns the exit code; prints what failed. */
export async function main(argv: string[], context: CommandContext = {}): Promise<number> {
  const command = commands.find((c) => c.name === argv[0]);
  // Library errors already say "fcnet: ..."; the command names itself once.
  const prefix = command ? `fcnet ${command.name}: ` : 'fcnet: ';
  try {
    await execute(commands, argv, context);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message) {
        const help = command ? `fcnet ${command.name} --help` : 'fcnet --help';
        console.error(`${prefix}${e.message}\nRun \`${help}\` for the ${command ? 'options' : 'commands'}.`);
      }
      return EXIT.usage;
    }
    console.error(`${prefix}${(e as Error).message.replace(/^fcnet: /, '')}`);
    return e instanceof Interrupted ? e.exitCode : EXIT.failure;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
