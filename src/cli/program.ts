import { Command, InvalidArgumentError, Option } from 'commander';
import { ApexAliasError } from '../errors.ts';
import { BackendError } from '../backends/errors.ts';
import { createLogger } from '../observe/logger.ts';
import type { LogFormat, Logger } from '../observe/logger.ts';
import { OUTPUT_FORMATS } from './report.ts';
import type { OutputFormat } from './report.ts';
import { runResolve } from './resolve.ts';
import { EXIT, runSync } from './sync.ts';
import { versionText } from './version.ts';

/** Every flag can also be set from the environment as `APEXALIAS_<FLAG>`: `--log-level` is `APEXALIAS_LOG_LEVEL`. */
export const ENV_PREFIX = 'APEXALIAS_';

interface GlobalOptions {
  config?: string;
  resolver?: string[];
  logFormat?: LogFormat;
  logLevel: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The environment variable of a flag: `--zone-dir` → `APEXALIAS_ZONE_DIR`. */
export function envVarOf(option: Option): string {
  return ENV_PREFIX + option.name().replace(/-/g, '_').toUpperCase();
}

/**
 * A Command whose options all get their `APEXALIAS_<FLAG>` variable as they are added (commander
 * reads `env` only when the option is added). Hidden options (the copies of the global options
 * on each command) and `--version` get none.
 */
class EnvCommand extends Command {
  override createCommand(name?: string): Command {
    return new EnvCommand(name);
  }
  override addOption(option: Option): this {
    if (!option.hidden && option.long !== '--version') option.env(envVarOf(option));
    return super.addOption(option);
  }
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['', '0', 'false', 'no', 'off']);

/**
 * Commander turns a boolean flag on when its variable is merely set, so `APEXALIAS_WATCH=false`
 * would start a watch. Read the value instead: 1/true/yes/on or 0/false/no/off (or empty).
 */
function applyBooleanEnv(cmd: Command): void {
  for (const option of cmd.options) {
    const key = option.attributeName();
    if (!option.envVar || option.required || option.optional) continue;
    if (cmd.getOptionValueSource(key) !== 'env') continue;
    const raw = (process.env[option.envVar] ?? '').trim().toLowerCase();
    if (!TRUE_WORDS.has(raw) && !FALSE_WORDS.has(raw)) {
      cmd.error(
        `error: ${option.envVar}=${JSON.stringify(process.env[option.envVar])} is not a boolean; use 1/true/yes/on or 0/false/no/off`,
        { exitCode: EXIT.invalid, code: 'apexalias.invalidEnv' },
      );
    }
    // A negated flag (--no-leader-elect) set to true turns its feature off.
    const on = TRUE_WORDS.has(raw);
    cmd.setOptionValueWithSource(key, option.negate ? !on : on, 'env');
  }
}

/**
 * The options every command accepts. Commander reads a program option wherever it stands, so
 * they may come before or after the command name (the last one given wins).
 */
function globalOptions(): Option[] {
  return [
    new Option(
      '-c, --config <file>',
      'controller configuration (YAML); without it, a zonefile backend in ./zones serves every zone',
    ),
    new Option(
      '--resolver <ip[:port]>',
      'upstream resolver for targets, an IP address; repeat or comma-separate (default: resolver.servers, then /etc/resolv.conf)',
    ).argParser(collect),
    new Option(
      '--log-format <format>',
      'log format on stderr (default: text on a terminal, else json)',
    ).choices(['json', 'text']),
    new Option('--log-level <level>', 'least severe log level shown (default: "info")').choices([
      'error',
      'warn',
      'info',
      'debug',
    ]),
  ];
}

function loggerFor(g: GlobalOptions): Logger {
  return createLogger({
    level: g.logLevel ?? 'info',
    format: g.logFormat ?? (process.stderr.isTTY ? 'text' : 'json'),
  });
}

/** Runs a command's action and turns its outcome (or typed error) into an exit code. */
async function run(g: GlobalOptions, action: (logger: Logger) => Promise<number>): Promise<void> {
  const logger = loggerFor(g);
  try {
    process.exitCode = await action(logger);
  } catch (err) {
    if (err instanceof ApexAliasError) {
      process.stderr.write(`apexalias: ${err.message}\n`);
      logger.debug('command failed', { code: err.code });
      process.exitCode = err instanceof BackendError ? EXIT.notInSync : EXIT.invalid;
    } else {
      process.stderr.write(`apexalias: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = EXIT.notInSync;
    }
  }
}

const outputOption = (): Option =>
  new Option('-o, --output <format>', 'report format on stdout').choices([...OUTPUT_FORMATS]).default('text');

function writeCommand(program: Command, name: 'sync' | 'plan'): Command {
  const dryRun = name === 'plan';
  const cmd = program
    .command(name)
    .description(
      dryRun
        ? 'Show what sync would change: resolve every target, read the zones, print the diff. Writes nothing.'
        : 'Resolve every alias target and write its A/AAAA records (and ownership marker) into the backends.',
    )
    .requiredOption(
      '-f, --filename <file|dir>',
      'ApexAlias manifest file or directory (recursive); repeatable',
      collect,
    )
    .option('--backend <name>', 'write every alias through this configured backend, ignoring spec.backend')
    .option('--zone-dir <dir>', 'folder of the built-in zonefile backend (only without --config)', undefined)
    .addOption(outputOption())
    .option(
      '--allow-empty',
      'exit 0 when the manifests hold no ApexAlias (default: that is invalid input, exit 2)',
    );
  if (dryRun) {
    cmd.option('--detailed-exitcode', 'exit 3 when there are changes to make (0 when none)');
  } else {
    cmd.option(
      '-w, --watch',
      'keep running: refresh each alias as its target TTL runs out (SIGINT/SIGTERM stop)',
    );
  }
  cmd.addHelpText(
    'after',
    `
Examples:
  $ apexalias ${name} -f examples/quickstart.yaml
  $ apexalias ${name} -f manifests/ --config apexalias.yaml --resolver 10.0.0.53
${dryRun ? '  $ apexalias plan -f manifests/ --detailed-exitcode || echo "changes pending"' : '  $ apexalias sync -f manifests/ --watch --log-format json'}

Exit codes: 0 in sync, 1 some alias could not be synced, 2 invalid input${dryRun ? ', 3 changes pending (--detailed-exitcode)' : ''}.`,
  );
  cmd.action(async (opts: Record<string, unknown>) => {
    const g = program.opts<GlobalOptions>();
    await run(g, (logger) =>
      runSync(
        {
          config: g.config,
          filename: opts.filename as string[],
          resolver: g.resolver,
          backend: opts.backend as string | undefined,
          zoneDir: opts.zoneDir as string | undefined,
          output: opts.output as OutputFormat,
          allowEmpty: Boolean(opts.allowEmpty),
          watch: Boolean(opts.watch),
          dryRun,
          detailedExitcode: Boolean(opts.detailedExitcode),
        },
        logger,
      ),
    );
  });
  return cmd;
}

/** Builds the `apexalias` command line. Exported for tests of `--help`. */
export function buildProgram(): Command {
  const program = new EnvCommand('apexalias')
    .description(
      'ALIAS/ANAME records at the zone apex for any DNS server: resolve a target hostname, follow its CNAME ' +
        'chain, and write its A/AAAA records into the zone (RFC 2136 with TSIG, or a zone file).',
    )
    .addOption(new Option('-V, --version', 'print the version, the git commit and the Node.js version'))
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride((err) => {
      // Usage errors exit 2, like every other invalid input; --help and --version exit 0.
      process.exit(err.exitCode === 0 ? 0 : EXIT.invalid);
    })
    // Subcommands inherit this: their help lists the global options too.
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Every flag can also be set from the environment, as shown by "env:" beside it
(--log-level is APEXALIAS_LOG_LEVEL). A flag on the command line wins. Boolean
flags take 1/true/yes/on or 0/false/no/off. Global options may come before or
after the command.`,
    );
  for (const option of globalOptions()) program.addOption(option);
  program.on('option:version', () => {
    process.stdout.write(versionText());
    process.exit(0);
  });
  program.hook('preAction', (_program, actionCommand) => {
    applyBooleanEnv(program);
    applyBooleanEnv(actionCommand);
  });

  writeCommand(program, 'sync');
  writeCommand(program, 'plan');

  const int = (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
    return n;
  };
  const controller = program
    .command('controller')
    .description(
      'Run the Kubernetes controller: watch ApexAlias objects and keep their records in the DNS backends, with status, Events, finalizers, tenancy, leader election, metrics and health probes.',
    )
    .option(
      '--kubeconfig <file>',
      'kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account)',
    )
    .option('-n, --namespace <namespace>', 'watch only this namespace (default: all namespaces)')
    .option('-l, --selector <labels>', 'watch only ApexAliases matching this label selector')
    .option(
      '--concurrency <n>',
      'reconcile passes running at once (each over up to --batch-size aliases)',
      int,
      2,
    )
    .option('--bind-address <ip>', 'address of the probe and metrics servers', '0.0.0.0')
    .option('--health-port <port>', 'port of /healthz and /readyz (and /metrics)', int, 8081)
    .option('--metrics-port <port>', 'port of /metrics (may equal --health-port)', int, 8080)
    .option('--no-leader-elect', 'run without leader election (only one replica may run)')
    .option(
      '--lease-namespace <namespace>',
      'namespace of the leader Lease (default: the pod namespace, else "default")',
    )
    .option('--lease-name <name>', 'name of the leader Lease', 'apexalias-leader')
    .option('--identity <id>', 'this replica in the Lease (default: hostname_pid)')
    .option('--lease-duration <s>', 'how long a Lease is valid without renewal', int, 15)
    .option('--renew-deadline <s>', 'how long the leader keeps trying to renew before it gives up', int, 10)
    .option('--retry-period <s>', 'how often to try to acquire or renew', int, 2)
    .option(
      '--batch-window <ms>',
      'wait this long for more aliases to come due before a reconcile pass starts',
      int,
      20,
    )
    .option('--batch-size <n>', 'the most aliases one reconcile pass takes', int, 2000)
    .option(
      '--sweep-interval <s>',
      'how often to remove records whose ApexAlias no longer exists (0: never)',
      int,
      600,
    );
  controller
    .addHelpText(
      'after',
      `
Examples:
  $ apexalias controller --config /etc/apexalias/config.yaml
  $ apexalias controller --kubeconfig ~/.kube/config --namespace team-a --no-leader-elect --log-format text

Exit codes: 0 after SIGTERM/SIGINT, 1 when the leader Lease was lost, 2 invalid configuration.`,
    )
    .action(async (opts: Record<string, unknown>) => {
      // Loaded on demand: the Kubernetes client is heavy, and sync/plan/resolve never need it.
      const { runController } = await import('../controller/run.ts');
      const g = program.opts<GlobalOptions>();
      await run(g, (logger) =>
        runController(
          {
            config: g.config,
            resolver: g.resolver,
            kubeconfig: opts.kubeconfig as string | undefined,
            namespace: opts.namespace as string | undefined,
            selector: opts.selector as string | undefined,
            concurrency: opts.concurrency as number,
            bindAddress: opts.bindAddress as string,
            healthPort: opts.healthPort as number,
            metricsPort: opts.metricsPort as number,
            leaderElect: opts.leaderElect as boolean,
            leaseNamespace:
              (opts.leaseNamespace as string | undefined) ?? process.env.POD_NAMESPACE ?? 'default',
            leaseName: opts.leaseName as string,
            identity: opts.identity as string | undefined,
            leaseDurationSeconds: opts.leaseDuration as number,
            renewDeadlineSeconds: opts.renewDeadline as number,
            retryPeriodSeconds: opts.retryPeriod as number,
            batchWindowMs: opts.batchWindow as number,
            batchSize: opts.batchSize as number,
            sweepIntervalSeconds: opts.sweepInterval as number,
          },
          logger,
        ),
      );
    });

  const resolve = program
    .command('resolve')
    .description(
      'Resolve a target as the controller would: per family, the CNAME chain, the addresses and the lowest TTL along the chain.',
    )
    .argument('<host>', 'the target hostname')
    .addOption(
      new Option('-t, --type <type>', 'address family to resolve')
        .choices(['A', 'AAAA', 'both'])
        .default('both')
        .argParser((v) => {
          const t = v === 'a' || v === 'aaaa' ? v.toUpperCase() : v;
          if (!['A', 'AAAA', 'both'].includes(t)) throw new InvalidArgumentError('use A, AAAA or both');
          return t;
        }),
    )
    .addOption(outputOption());
  resolve
    .addHelpText(
      'after',
      '\nExit codes: 0 resolved (or NXDOMAIN/NODATA), 1 a lookup failed, 2 invalid input.',
    )
    .action(async (host: string, opts: Record<string, unknown>) => {
      const g = program.opts<GlobalOptions>();
      await run(g, () =>
        runResolve(host, {
          config: g.config,
          resolver: g.resolver,
          type: opts.type as 'A' | 'AAAA' | 'both',
          output: opts.output as OutputFormat,
        }),
      );
    });

  return program;
}
