import { Command, InvalidArgumentError, Option } from 'commander';
import { ApexAliasError } from '../errors.ts';
import { BackendError } from '../backends/errors.ts';
import { createLogger } from '../observe/logger.ts';
import type { LogFormat, Logger } from '../observe/logger.ts';
import { runResolve } from './resolve.ts';
import { EXIT, runSync } from './sync.ts';

const VERSION = '0.1.0';

interface GlobalOptions {
  config?: string;
  logFormat?: LogFormat;
  logLevel: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function loggerFor(program: Command): Logger {
  const g = program.opts<GlobalOptions>();
  return createLogger({ level: g.logLevel, format: g.logFormat ?? (process.stderr.isTTY ? 'text' : 'json') });
}

/** Runs a command's action and turns its outcome (or typed error) into an exit code. */
async function run(program: Command, action: (logger: Logger) => Promise<number>): Promise<void> {
  const logger = loggerFor(program);
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

const resolverOption = (): Option =>
  new Option(
    '--resolver <ip[:port]>',
    'upstream resolver for targets; repeat or comma-separate (default: resolver.servers, then /etc/resolv.conf)',
  ).argParser(collect);

const outputOption = (): Option =>
  new Option('-o, --output <format>', 'report format on stdout').choices(['text', 'json']).default('text');

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
    .addOption(resolverOption())
    .option('--backend <name>', 'write every alias through this configured backend, ignoring spec.backend')
    .option('--zone-dir <dir>', 'folder of the built-in zonefile backend (only without --config)', undefined)
    .addOption(outputOption());
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
    await run(program, (logger) =>
      runSync(
        {
          config: program.opts<GlobalOptions>().config,
          filename: opts.filename as string[],
          resolver: opts.resolver as string[] | undefined,
          backend: opts.backend as string | undefined,
          zoneDir: opts.zoneDir as string | undefined,
          output: opts.output as 'text' | 'json',
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
  const program = new Command('apexalias')
    .description(
      'ALIAS/ANAME records at the zone apex for any DNS server: resolve a target hostname, follow its CNAME ' +
        'chain, and write its A/AAAA records into the zone (RFC 2136 with TSIG, or a zone file).',
    )
    .version(VERSION)
    .option(
      '-c, --config <file>',
      'controller configuration (YAML); without it, a zonefile backend in ./zones serves every zone',
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'log format on stderr (default: text on a terminal, else json)',
      ).choices(['json', 'text']),
    )
    .addOption(
      new Option('--log-level <level>', 'least severe log level shown')
        .choices(['error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride((err) => {
      // Usage errors exit 2, like every other invalid input; --help and --version exit 0.
      process.exit(err.exitCode === 0 ? 0 : EXIT.invalid);
    });

  writeCommand(program, 'sync');
  writeCommand(program, 'plan');

  const int = (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
    return n;
  };
  program
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
    .addOption(resolverOption())
    .option('--concurrency <n>', 'reconciles running at once', int, 64)
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
      'gather concurrent writes to one zone for this long into one UPDATE',
      int,
      20,
    )
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
      await run(program, (logger) =>
        runController(
          {
            config: program.opts<GlobalOptions>().config,
            resolver: opts.resolver as string[] | undefined,
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
          },
          logger,
        ),
      );
    });

  program
    .command('resolve')
    .description(
      'Resolve a target as the controller would: per family, the CNAME chain, the addresses and the lowest TTL along the chain.',
    )
    .argument('<host>', 'the target hostname')
    .addOption(resolverOption())
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
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nExit codes: 0 resolved (or NXDOMAIN/NODATA), 1 a lookup failed, 2 invalid input.',
    )
    .action(async (host: string, opts: Record<string, unknown>) => {
      await run(program, () =>
        runResolve(host, {
          config: program.opts<GlobalOptions>().config,
          resolver: opts.resolver as string[] | undefined,
          type: opts.type as 'A' | 'AAAA' | 'both',
          output: opts.output as 'text' | 'json',
        }),
      );
    });

  return program;
}
