package io.iotpipe.cli.audit;

import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.simulator.Ledger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code iotpipe audit}: is every confirmed reading in Elasticsearch and in the store, exactly once? */
@Command(name = "audit", mixinStandardHelpOptions = true,
    description = "Compare what publishers had confirmed (ledger files from simulate --ledger or the demo) with what the "
        + "search index, the store and the lake's table hold: per device gaps and duplicates, and a verdict. Without --ledger, "
        + "compare the search index and the store with each other (readings only one of them holds, duplicates in either). "
        + "Exit 1 when anything is lost, doubled or (without a ledger) the sinks disagree.")
public final class AuditCommand implements IotpipeCommand, Callable<Integer> {

  @Mixin ConfigOption config;

  @Option(names = "--ledger", split = ",", description = "Ledger file(s) of the runs to check (without: the sinks against each other).")
  List<Path> ledgers;

  @Option(names = "--since", paramLabel = "TIME", description = "Without --ledger: first event time compared, 2026-12-07 or 2026-12-07T08:00:00Z (default: all).")
  String since;

  @Option(names = "--until", paramLabel = "TIME", description = "Without --ledger: event time where the comparison stops, exclusive (default: all; leave out the last storage.rollAge, not committed yet).")
  String until;

  @Option(names = "--sink", defaultValue = "elk,storage", split = ",", description = "Which sinks to check: elk, storage, lake (default: ${DEFAULT-VALUE}).")
  List<String> sinks;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() {
    if (ledgers == null || ledgers.isEmpty()) {
      return sinks();
    }
    IotpipeConfig cfg = config.load();
    List<Ledger> ls = new ArrayList<>();
    for (Path p : ledgers) {
      if (!Files.exists(p)) {
        throw new CommandFailure(ExitCode.USAGE, "ledger " + p + " does not exist (write one with: iotpipe simulate --ledger FILE)");
      }
      ls.add(Ledger.read(p));
    }
    Ledger ledger = Ledger.merge(ls);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("confirmed", ledger.confirmed());
    boolean ok = true;
    for (String sink : sinks) {
      Completeness.Result r = switch (sink) {
        case "elk" -> Auditor.search(cfg.indexer(), ledger);
        case "storage" -> Auditor.store(cfg.storage().dir(), ledger);
        case "lake" -> io.iotpipe.cli.lake.LakeAudit.audit(cfg.section(io.iotpipe.lake.LakeSection.SECTION), ledger);
        default -> throw new CommandFailure(ExitCode.USAGE, "--sink " + sink + ": expected elk, storage or lake");
      };
      out.put(sink, Auditor.toJson(r));
      ok &= r.complete();
    }
    out.put("verdict", ok ? "complete: nothing lost, nothing doubled" : "INCOMPLETE");
    if (json) {
      new Output().printJson(out);
    } else {
      System.out.printf("confirmed readings: %d%n", ledger.confirmed());
      for (String sink : sinks) {
        @SuppressWarnings("unchecked")
        Map<String, Object> r = (Map<String, Object>) out.get(sink);
        System.out.printf("%-8s present %s, lost %s, duplicates %s, devices with gaps %s%s%n", sink, r.get("present"), r.get("lost"),
            r.get("duplicates"), r.get("devicesWithGaps"), ((List<?>) r.get("missingExamples")).isEmpty() ? "" : " e.g. " + r.get("missingExamples"));
      }
      System.out.println("verdict: " + out.get("verdict"));
    }
    return ok ? ExitCode.OK : ExitCode.FAILED;
  }

  /** Both sinks against each other, for a fleet without a ledger. */
  private int sinks() {
    IotpipeConfig cfg = config.loadSections("indexer", "storage");
    Auditor.Agreement a;
    try {
      a = Auditor.sinks(cfg.indexer(), cfg.storage().dir(), io.iotpipe.cli.TimeOption.parse("--since", since),
          io.iotpipe.cli.TimeOption.parse("--until", until));
    } catch (IllegalStateException | io.iotpipe.elasticsearch.EsClient.EsUnavailableException e) {
      throw new CommandFailure(ExitCode.FAILED, e.getMessage());
    }
    String window = (since == null ? "" : " --since " + since) + (until == null ? "" : " --until " + until);
    String verdict = a.agree() ? "the sinks agree: every reading in both, none doubled"
        : "DISAGREE" + (a.onlyInStore() > 0 ? ": readings missing from the search index are mended by iotpipe reindex --config "
            + config.file + window : "");
    if (json) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("inStore", a.inStore());
      out.put("inSearch", a.inSearch());
      out.put("onlyInStore", a.onlyInStore());
      out.put("onlyInSearch", a.onlyInSearch());
      out.put("duplicatesInStore", a.duplicatesInStore());
      out.put("duplicatesInSearch", a.duplicatesInSearch());
      out.put("onlyInStoreExamples", a.onlyInStoreExamples());
      out.put("onlyInSearchExamples", a.onlyInSearchExamples());
      out.put("agree", a.agree());
      out.put("verdict", verdict);
      new Output().printJson(out);
    } else {
      System.out.printf("store %d readings, search %d; only in the store %d%s, only in search %d%s; duplicates: store %d, search %d%n",
          a.inStore(), a.inSearch(), a.onlyInStore(), a.onlyInStoreExamples().isEmpty() ? "" : " e.g. " + a.onlyInStoreExamples(),
          a.onlyInSearch(), a.onlyInSearchExamples().isEmpty() ? "" : " e.g. " + a.onlyInSearchExamples(), a.duplicatesInStore(),
          a.duplicatesInSearch());
      System.out.println("verdict: " + verdict);
    }
    return a.agree() ? ExitCode.OK : ExitCode.FAILED;
  }
}
