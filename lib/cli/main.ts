#!/usr/bin/env node
// The `fcnet` command: one subcommand per job.
import { trainCommand, trainUsage } from './train';
import { evalCommand } from './eval';
import { predictCommand } from './predict';
import { doctorCommand } from './doctor';
import { benchCommand } from './bench';
import { exportCommand } from './export';
import { serveDemoCommand } from './serve-demo';
import { UsageError } from './args';

const commands: Record<string, { run: (argv: string[]) => Promise<void>; summary: string }> = {
  train: { run: trainCommand, summary: 'train a network on MNIST (the reference job)' },
  eval: { run: evalCommand, summary: "a saved network's accuracy and loss on MNIST's test images" },
  predict: { run: predictCommand, summary: 'the digit a saved network sees in a PNG picture' },
  export: { run: exportCommand, summary: 'write a saved network as an ONNX model (for ONNX Runtime)' },
  'serve-demo': { run: serveDemoCommand, summary: 'serve a web page that recognises a digit you draw (ONNX)' },
  bench: { run: benchCommand, summary: 'time the kernels, training steps and epochs of every backend (--compare-pytorch: and PyTorch)' },
  doctor: { run: doctorCommand, summary: 'say what fcnet can run on here (native binary, BLAS, CUDA, MNIST) and why not' },
};

const usage = `Usage: fcnet <command> [options]

Commands:
${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

Run \`fcnet <command> --help\` for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`fcnet: unknown command '${name}'\n\n${usage}`);
    return 2;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`fcnet ${name}: ${e.message}`);
      return 2;
    }
    // Library errors already say "fcnet: ..."; the command names itself once.
    console.error(`fcnet ${name}: ${(e as Error).message.replace(/^fcnet: /, '')}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

export { trainUsage };
