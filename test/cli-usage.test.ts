// The command line as a user meets it, through the built CLI (`node dist/lib/cli/main.js`): --version, help on
// every command, and every usage mistake reported in fcnet's words with exit code 2 before any work. Each
// mistake is given with `--data` naming a folder that does not exist and an MNIST-free model path: had any
// work started (MNIST loaded, a file read), the message would be that failure's and the exit code 1.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compiledLib } from './support/compiled';

const root = join(__dirname, '..');
let cli: string;
let folder: string;

beforeAll(() => {
  cli = join(compiledLib(), 'cli', 'main.js');
  folder = mkdtempSync(join(tmpdir(), 'fcnet-cli-usage-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function fcnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: folder, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;

test.each([['--version'], ['-V']])('fcnet %s prints the version and exits 0', (flag) => {
  expect(fcnet(flag)).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
});

test('fcnet --help lists every command; fcnet alone prints the same on stderr and exits 2', () => {
  const help = fcnet('--help');
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: fcnet <command> \[options\]\n/);
  for (const command of ['train', 'eval', 'predict', 'bench', 'doctor']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  expect(fcnet()).toEqual({ status: 2, stdout: '', stderr: help.stdout });
});

test.each([
  ['train', '-h', 'Usage: fcnet train [options]'],
  ['train', '--help', 'Usage: fcnet train [options]'],
  ['eval', '-h', 'Usage: fcnet eval [options] <MODEL>'],
  ['predict', '-h', 'Usage: fcnet predict [options] <MODEL> [IMAGE]'],
  ['bench', '-h', 'Usage: fcnet bench [options]'],
  ['doctor', '-h', 'Usage: fcnet doctor [--json]'],
  ['help', 'eval', 'Usage: fcnet eval [options] <MODEL>'],
])('fcnet %s %s prints the command\'s usage and options, exit 0', (command, flag, usage) => {
  const r = fcnet(command, flag);
  expect(r.status).toBe(0);
  expect(r.stdout.split('\n')[0]).toBe(usage);
  expect(r.stdout).toContain('\nOptions:\n');
  expect(r.stderr).toBe('');
});

const nowhere = '/nonexistent/fcnet-mnist';
const hint = (command: string) => `Run \`fcnet ${command} --help\` for the options.`;

describe('usage mistakes exit 2 before any work, in fcnet\'s words', () => {
  test.each([
    [['tran'], "fcnet: unknown command 'tran' (did you mean train?)", 'Run `fcnet --help` for the commands.'],
    [['train', '--epoch', '3'], "fcnet train: unknown option '--epoch' (did you mean --epochs?)", hint('train')],
    [['train', '--batch-size', '70000'], "fcnet train: Expected integer between 1 and 60000 for --batch-size but received '70000'", hint('train')],
    [['train', '--batch-size', '0'], "fcnet train: Expected integer between 1 and 60000 for --batch-size but received '0'", hint('train')],
    [['train', '--lr', '1e9'], "fcnet train: Expected number above 0 up to 1000 for --lr but received '1e9'", hint('train')],
    [['train', '--lr', '-1'], "fcnet train: Expected number above 0 up to 1000 for --lr but received '-1'", hint('train')],
    [['train', '--lr', 'fast'], "fcnet train: Expected number above 0 up to 1000 for --lr but received 'fast'", hint('train')],
    [['train', '--epochs', '0'], "fcnet train: Expected integer between 1 and 1000000 for --epochs but received '0'", hint('train')],
    [['train', '--epochs', '2.5'], "fcnet train: Expected integer between 1 and 1000000 for --epochs but received '2.5'", hint('train')],
    [['train', '--seed', '-3'], "fcnet train: Expected integer between 0 and 4294967295 for --seed but received '-3'", hint('train')],
    [['train', '--hidden', '256,0'], "fcnet train: Expected widths like 500 or 256,128, each between 1 and 16777216 for --hidden but received '256,0'", hint('train')],
    [['train', '--backend', 'tpu'], "fcnet train: Expected one of 'auto', 'cpu', 'js', 'cuda' for --backend but received 'tpu'", hint('train')],
    [['train', '--backend', 'cpu', '--device', 'js'], "fcnet train: option '--device <name>' cannot be used with option '--backend <name>'", hint('train')],
    [['train', '--log-every', ''], "fcnet train: Expected integer at least 1 for --log-every but received ''", hint('train')],
    [['train', '--checkpoint-every', '5'], 'fcnet train: --checkpoint-every needs --checkpoint FILE (or --resume FILE) to know where to save', hint('train')],
    [['train', '--optimizer', 'sgd', '--momentum', '0.9', '--data', nowhere], "fcnet train: --optimizer, --momentum: for a table's run (--data table.csv or X.npy --target ...); an IDX run trains with Adam as the reference program and does not take them yet", hint('train')],
    [['train', '--validation', '0.1', '--data', nowhere], "fcnet train: --validation: for a table's run (--data table.csv or X.npy --target ...); an IDX run trains with Adam as the reference program and does not take it yet", hint('train')],
    [['train', 'now'], "fcnet train: too many arguments for 'train'. Expected 0 arguments but got 1.", hint('train')],
    [['train', '--lr'], "fcnet train: option '--lr <x>' argument missing", hint('train')],
    [['eval'], "fcnet eval: missing required argument 'MODEL'", hint('eval')],
    [['eval', 'a.safetensors', 'b.safetensors'], "fcnet eval: too many arguments for 'eval'. Expected 1 argument but got 2.", hint('eval')],
    [['eval', 'model.safetensors', '--jsn'], "fcnet eval: unknown option '--jsn' (did you mean --json?)", hint('eval')],
    [['predict', 'model.safetensors'], 'fcnet predict: missing IMAGE (a PNG or JPEG picture), or --data FILE for a table', hint('predict')],
    [['bench', '--repeats', '0'], "fcnet bench: Expected integer between 1 and 1000000 for --repeats but received '0'", hint('bench')],
    [['doctor', '--jsn'], "fcnet doctor: unknown option '--jsn' (did you mean --json?)", hint('doctor')],
  ])('fcnet %j', (args, message, help) => {
    // --lr with no value must stay last; --data comes first so that it is parsed before the mistake.
    const withData = args[0] === 'train' || args[0] === 'eval' ? [args[0], '--data', nowhere, ...args.slice(1)] : args;
    expect(fcnet(...withData)).toEqual({ status: 2, stdout: '', stderr: `${message}\n${help}\n` });
  });
});

describe('run-time failures exit 1', () => {
  test('MNIST not where --data says', () => {
    const r = fcnet('train', '--data', nowhere, '--epochs', '1');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `fcnet train: MNIST's train-images-idx3-ubyte not found in ${nowhere}: searched for train-images-idx3-ubyte, train-images-idx3-ubyte.gz, ` +
        `train-images.idx3-ubyte, train-images.idx3-ubyte.gz, each directly, inside a folder of that name, and below MNIST/raw/; ${nowhere} does not exist\n`,
    );
  });

  test('a model file that is not there', () => {
    const model = join(folder, 'missing.safetensors');
    const r = fcnet('eval', model);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`fcnet eval: Cannot read ${model}: ENOENT: no such file or directory, open '${model}'\n`);
  });
});

test('--epochs 0 is refused and leaves model.safetensors as it was', () => {
  const model = join(folder, 'model.safetensors');
  writeFileSync(model, 'a trained network');
  const before = statSync(model).mtimeMs;
  const r = fcnet('train', '--epochs', '0');
  expect(r.status).toBe(2);
  expect(r.stderr.split('\n')[0]).toBe("fcnet train: Expected integer between 1 and 1000000 for --epochs but received '0'");
  expect(readFileSync(model, 'utf8')).toBe('a trained network');
  expect(statSync(model).mtimeMs).toBe(before);
});
