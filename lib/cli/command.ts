// What a command is (a CommandSpec: its name, arguments, options and what it runs) and how a command line
// becomes a call of one. Parsing is commander's (14: the last major that runs on Node 20): --help and -h on
// every command, --version, "did you mean" for a misspelt option or command, missing values and excess
// arguments. Every mistake it finds becomes a UsageError in fcnet's words, before the command runs.
import { Command, CommanderError, Option } from 'commander';
import { fcnetVersion } from '../version';
import { UsageError, type OptionSpec } from './args';

/** What a command's run gets: its arguments and options, parsed and range-checked. */
export interface CommandInput {
  /** The positional arguments, in the order `CommandSpec.arguments` names them. */
  args: string[];
  /** By camel-cased name (`--batch-size` → batchSize), defaults filled in. */
  options: Record<string, unknown>;
  /** True when the command line gave the option (not only its default). */
  given(option: string): boolean;
  /** The command line after the command's name, as typed (for a record of how a result was made). */
  argv: readonly string[];
}

/** What a caller other than the shell passes in (tests). */
export interface CommandContext {
  /** Stands in for a signal (Ctrl-C): when it aborts, a training run stops after its current step. */
  interrupt?: AbortSignal;
}

export interface CommandSpec {
  name: string;
  /** One line for `fcnet --help`. */
  summary: string;
  /** The required positional arguments, e.g. ['MODEL', 'IMAGE']. */
  arguments?: readonly string[];
  /** The text of `fcnet <name> --help` above the options: paragraphs (commander wraps them to the terminal). */
  description: string;
  /** The usage line after `fcnet <name>`; default `[options]` after the arguments. */
  usage?: string;
  options: readonly OptionSpec[];
  run(input: CommandInput, context: CommandContext): Promise<void>;
}

/** The program's one-line description, above the commands in `fcnet --help`. */
const ABOUT = 'Train fully connected networks at native speed, evaluate them and ask them about pictures.';

interface Chosen {
  spec: CommandSpec;
  input: Omit<CommandInput, 'argv'>;
}

/** Help text goes through console.log/console.error (tests catch those), without commander's final newline. */
const toConsole = (print: (s: string) => void) => (s: string) => print(s.replace(/\n$/, ''));

function commandFor(parent: Command, spec: CommandSpec, choose: (c: Chosen) => void): void {
  const command = parent.command(spec.name).summary(spec.summary).description(spec.description);
  for (const name of spec.arguments ?? []) command.argument(`<${name}>`);
  if (spec.usage !== undefined) command.usage(spec.usage);
  for (const o of spec.options) {
    // commander shows a default only where it holds a value; a default found at run time is said in words.
    const shownDefault = o.default === undefined && o.defaultText !== undefined ? ` (default: ${o.defaultText})` : '';
    const option = new Option(o.flags, o.description + shownDefault);
    if (o.parse) {
      const parse = o.parse;
      option.argParser((value: string) => parse(value, option.long ?? o.flags));
    }
    if (o.default !== undefined) option.default(o.default, o.defaultText);
    if (o.conflicts) option.conflicts(o.conflicts);
    command.addOption(option);
  }
  command.action(() => {
    const options = command.opts();
    choose({
      spec,
      input: { args: command.processedArgs as string[], options, given: (name) => command.getOptionValueSource(name) === 'cli' },
    });
  });
}

/** The `fcnet` program with `specs` as its commands; `choose` hears which one the command line asks for. */
function program(specs: readonly CommandSpec[], choose: (c: Chosen) => void): Command {
  const root = new Command('fcnet')
    .usage('<command> [options]')
    .description(ABOUT)
    .version(fcnetVersion(), '-V, --version', "fcnet's version")
    .helpCommand('help [command]', "a command's options")
    .exitOverride()
    .configureOutput({ writeOut: toConsole(console.log), writeErr: toConsole(console.error), outputError: () => {} })
    .showSuggestionAfterError(true)
    .addHelpText('after', '\nRun `fcnet <command> --help` for a command\'s options. Exit codes: docs/cli.md#exit-codes');
  for (const spec of specs) commandFor(root, spec, choose);
  return root;
}

/** commander's "error: unknown option '--epoch'\n(Did you mean --epochs?)" in fcnet's words. */
function inOurWords(e: CommanderError): string {
  return e.message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)$/, ' (did you mean $1?)');
}

/**
 * Parses `argv` (a command and its arguments) against `specs` and runs the command it names. Resolves when
 * the command is done or after printing help or the version; throws a UsageError for a mistake in the
 * command line (before the command runs), and whatever the command throws.
 */
export async function execute(specs: readonly CommandSpec[], argv: readonly string[], context: CommandContext = {}): Promise<void> {
  let chosen: Chosen | undefined;
  try {
    program(specs, (c) => (chosen = c)).parse([...argv], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e; // an option's parse already threw a UsageError
    if (e.exitCode === 0) return; // --help, --version: printed
    // `fcnet` alone printed its help on stderr: no command is a usage error, with nothing more to say.
    throw new UsageError(e.code === 'commander.help' ? '' : inOurWords(e));
  }
  if (chosen) await chosen.spec.run({ ...chosen.input, argv: argv.slice(1) }, context);
}
