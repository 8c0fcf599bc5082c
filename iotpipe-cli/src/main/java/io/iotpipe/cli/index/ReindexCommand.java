package io.iotpipe.cli.index;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.DurationOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.elasticsearch.EsClient;
import io.iotpipe.elasticsearch.IndexSwitch;
import io.iotpipe.elasticsearch.Reindexer;
import io.iotpipe.storage.StoreReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code iotpipe reindex}: rebuilds the search index from the store (the work is {@link Reindexer} and {@link StoreReader}). */
@Command(name = "reindex", mixinStandardHelpOptions = true,
    description = "Replay the store's readings into the search engine with the indexer's documents and ids: restores a deleted"
        + " or lost index, or builds new indices beside the live ones (--index-suffix) and points the live names at them"
        + " (--switch). Readings already indexed with the same"
        + " content are left alone, so it doubles nothing next to a running indexer or when run twice. Exit 1 when the store or"
        + " the engine cannot be read or written, or when a reading was indexed with different content.")
public final class ReindexCommand implements IotpipeCommand, Callable<Integer> {

  @Mixin ConfigOption config;

  @Option(names = "--since", paramLabel = "TIME", description = "First event time replayed: 2026-12-07 (UTC midnight) or 2026-12-07T08:00:00Z (default: the oldest reading).")
  String since;

  @Option(names = "--until", paramLabel = "TIME", description = "Event time where the replay stops, exclusive (default: the newest reading).")
  String until;

  @Option(names = "--index-suffix", paramLabel = "S", description = "Write into new indices <index>-S (and <latest index>-S) beside the live ones instead of into them.")
  String indexSuffix;

  @Option(names = "--tenant", paramLabel = "ID", description = "Only the readings of this tenant's devices (they go to its own indices);"
      + " with --checkpoint, one file per tenant.")
  String tenant;

  @Option(names = "--max-rate", paramLabel = "N", description = "Most readings per second sent (default: indexer.consumer.maxRate; 0: unlimited).")
  Integer maxRate;

  @Option(names = "--checkpoint", paramLabel = "FILE", description = "Records the hours done; a run started again with the same file skips them (without it, a re-run redoes every hour, doubling nothing).")
  Path checkpoint;

  @Option(names = "--retry-for", paramLabel = "DURATION", defaultValue = "5m", description = "How long a batch the engine keeps refusing is retried before the run stops (default: ${DEFAULT-VALUE}).")
  String retryFor;

  @Option(names = "--switch", description = "With --index-suffix S: the rebuilt indices stay hidden from pattern searches while"
      + " the replay runs; once it is complete, each live name (<index>, <latest index>) becomes an alias of its rebuilt <name>-S,"
      + " one atomic alias change per name, so searches and the live indexer go on under the same names (a zero-downtime mapping"
      + " change). Before that, the engine copies into the new index every document only the old one holds (readings the store"
      + " does not hold yet, or outside --since/--until); writes to the old index are blocked only for the last copy of what"
      + " arrived meanwhile, and the live indexer retries them. The first switch of a name deletes the old index in that change"
      + " (a search in flight at that instant may miss it); later ones delete it after --switch-grace."
      + " Run it again after a failure: switched names are left alone.")
  boolean switchAliases;

  @Option(names = "--switch-grace", paramLabel = "DURATION", defaultValue = "30s", description = "With --switch: how long an old"
      + " rebuilt index, no longer named, is kept for searches that started before the switch (default: ${DEFAULT-VALUE}).")
  String switchGrace;

  @Option(names = "--json", description = "Print the summary as JSON.")
  boolean json;

  @Override
  public Integer call() {
    if (tenant != null && !io.iotpipe.core.tenant.TenantId.valid(tenant)) {
      throw new CommandFailure(ExitCode.USAGE, "--tenant " + tenant + ": use " + io.iotpipe.core.tenant.TenantId.RULE);
    }
    if (switchAliases && indexSuffix == null) {
      throw new CommandFailure(ExitCode.USAGE, "--switch needs --index-suffix S: it points the live index names at the indices"
          + " rebuilt as <index>-S (a rebuild into the live indices needs no switch)");
    }
    IotpipeConfig cfg = config.loadSections("indexer", "storage");
    Instant from = io.iotpipe.cli.TimeOption.parse("--since", since);
    Instant to = io.iotpipe.cli.TimeOption.parse("--until", until);
    Duration retry = DurationOption.parse("--retry-for", retryFor);
    Output out = new Output();
    StoreReader store;
    List<StoreReader.Hour> hours;
    long total;
    try {
      store = new StoreReader(cfg.storage());
      hours = store.hours(from, to);
      total = store.rows(hours);
    } catch (IllegalStateException | UncheckedIOException e) {
      throw new CommandFailure(ExitCode.FAILED, e.getMessage());
    } catch (IOException e) {
      throw new CommandFailure(ExitCode.FAILED, "cannot list the store " + cfg.storage().dir() + ": " + e.getMessage() + " (check storage.dir)");
    }
    Reindexer.Options opts = new Reindexer.Options(indexSuffix, maxRate != null ? maxRate : cfg.indexer().consumer().maxRate(), retry, checkpoint);
    long[] t0 = {System.nanoTime()};
    Reindexer.Summary summary;
    try (Reindexer reindexer = new Reindexer(cfg.indexer(), opts, p -> out.progress(String.format(Locale.ROOT,
        "reindex: hour %s, %,d of %,d readings (%.0f %%), %,d written, %,d already indexed, %,d different, %,d/s", p.part(), p.read(), total,
        total == 0 ? 100.0 : 100.0 * p.read() / total, p.written(), p.present(), p.different(),
        Math.round(p.read() / Math.max(1e-3, (System.nanoTime() - t0[0]) / 1e9)))))) {
      // an engine still starting is waited for, but no longer than a refused batch would be
      var engine = reindexer.prepare(retry.compareTo(Duration.ofSeconds(30)) < 0 ? retry : Duration.ofSeconds(30));
      if (switchAliases) {
        try (IndexSwitch sw = new IndexSwitch(cfg.indexer(), indexSuffix, tenant, null, null)) {
          if (!sw.hideRebuild(engine)) {
            out.info("reindex: this engine has no composable templates: pattern searches see the rebuilt indices beside the live ones until the switch");
          }
        } catch (IndexSwitch.Refused e) {
          throw new CommandFailure(ExitCode.FAILED, "switch: " + e.getMessage());
        }
      }
      t0[0] = System.nanoTime(); // the rate counts from the first reading sent, not from the engine check
      out.info("reindex: " + hours.size() + " hours, " + String.format(Locale.ROOT, "%,d", total) + " readings"
          + (tenant == null ? "" : " (of all tenants; only tenant " + tenant + "'s are sent)") + " from " + cfg.storage().dir()
          + " into " + reindexer.indices() + (checkpoint == null ? "" : " (checkpoint " + checkpoint + ")"));
      for (StoreReader.Hour h : hours) {
        if (reindexer.skip(h.key())) {
          continue;
        }
        store.replay(h, from, to, readings -> reindexer.replay(h.key(), ofTenant(readings, tenant)));
      }
      summary = reindexer.summary();
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage());
    } catch (IOException e) {
      throw new CommandFailure(ExitCode.FAILED, "cannot list the store " + cfg.storage().dir() + " again: " + e.getMessage() + " (check storage.dir)");
    } catch (EsClient.EsUnavailableException | Reindexer.Stopped | IllegalStateException | UncheckedIOException e) {
      throw new CommandFailure(ExitCode.FAILED, e.getMessage() + (checkpoint == null
          ? "; nothing indexed is undone: run it again (add --checkpoint FILE to skip finished hours next time)"
          : "; run it again with --checkpoint " + checkpoint + " to go on from the last finished hour"));
    } finally {
      out.endProgress();
    }
    boolean clean = summary.different() + summary.rejected() == 0;
    List<IndexSwitch.Switched> switched = List.of();
    if (switchAliases && !clean) {
      out.info("reindex: not switched: " + (summary.different() + summary.rejected()) + " readings were not indexed as stored (see"
          + " below); the live names are unchanged. Fix that and run again with --switch" + (checkpoint == null ? "" : " (--checkpoint "
          + checkpoint + " skips the hours done)"));
    } else if (switchAliases && summary.parts() + summary.skipped() == 0) {
      // an empty range would point the live latest-state name at a rebuild that holds nothing from the store
      throw new CommandFailure(ExitCode.FAILED, "switch: the store holds no readings" + (since == null && until == null ? "" : " between --since"
          + " and --until") + ", so nothing was rebuilt to switch to; the live names are unchanged (check --since/--until and storage.dir)");
    } else if (switchAliases) {
      switched = switchAliases(cfg, out);
    }
    if (json) {
      com.fasterxml.jackson.databind.node.ObjectNode n = Output.json().valueToTree(summary);
      if (switchAliases) {
        n.set("switched", Output.json().valueToTree(switched));
      }
      out.printJson(n);
    } else {
      System.out.printf(Locale.ROOT, "reindexed %d hours (%d skipped as done) into %s in %.1f s: %,d readings read, %,d written,"
              + " %,d already indexed, %,d different (indexed one kept), %,d refused%n", summary.parts(), summary.skipped(), summary.indices(),
          summary.seconds(), summary.read(), summary.written(), summary.present(), summary.different(), summary.rejected());
      summary.reasons().forEach(r -> System.out.println("  " + r));
      switched.forEach(w -> System.out.printf(Locale.ROOT, "switched %s from %s to %s in %.1f s (%,d documents only the old index held copied)%n",
          w.live(), w.from() == null ? "nothing" : w.from(), w.to(), w.seconds(), w.copied()));
    }
    return clean ? ExitCode.OK : ExitCode.FAILED;
  }

  /** The alias switch after a complete replay (the work is {@link IndexSwitch}). */
  private List<IndexSwitch.Switched> switchAliases(IotpipeConfig cfg, Output out) {
    try (IndexSwitch sw = new IndexSwitch(cfg.indexer(), indexSuffix, tenant, out::progress, line -> {
      out.endProgress();
      out.info(line);
    })) {
      List<IndexSwitch.Step> steps = sw.plan();
      out.endProgress();
      out.info("reindex: switching " + steps.size() + " live names to their -" + indexSuffix + " indices");
      return sw.run(steps, DurationOption.parse("--switch-grace", switchGrace));
    } catch (IndexSwitch.Refused e) {
      throw new CommandFailure(ExitCode.FAILED, "switch: " + e.getMessage());
    } catch (EsClient.EsUnavailableException e) {
      throw new CommandFailure(ExitCode.FAILED, "switch: " + e.getMessage() + "; names switched so far stay switched, the others"
          + " are unchanged (a copy in progress may leave its old index blocked for writes): run the same command again to finish");
    } finally {
      out.endProgress();
    }
  }

  /** The readings of one tenant's devices ({@code tenant} null: all of them), lazily, in the store's order. */
  static java.util.Iterator<io.iotpipe.core.envelope.Telemetry> ofTenant(java.util.Iterator<io.iotpipe.core.envelope.Telemetry> readings,
                                                                         String tenant) {
    if (tenant == null) {
      return readings;
    }
    java.util.Spliterator<io.iotpipe.core.envelope.Telemetry> all =
        java.util.Spliterators.spliteratorUnknownSize(readings, java.util.Spliterator.ORDERED);
    return java.util.stream.StreamSupport.stream(all, false).filter(t -> tenant.equals(t.tenant())).iterator();
  }
}
