package io.iotpipe.testkit.chaos;

import io.iotpipe.testkit.LocalPostgres;
import io.iotpipe.testkit.LocalStack;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The catalog database down under load: the lake commits through a JDBC catalog on a real PostgreSQL (the catalog
 * several machines share; the stack's default SQLite file cannot go away), which is stopped at once ({@code pg_ctl
 * -m immediate}: connections cut) and started again on the same port and data. The role must go on acking what it
 * hands off to the object store (data files and stage records need no catalog), dead-letter nothing healthy, and say
 * on {@code /health} that the sink is degraded (its commits fail); afterwards every confirmed reading is in the table
 * once.
 */
final class LakeCatalogDown {

  private LakeCatalogDown() {}

  static ChaosScenarios.Row run(LocalStack stack, boolean quick, ChaosScenarios.LakeAudit audit, Consumer<String> log) throws Exception {
    String name = "lake-catalog-down";
    log.accept("chaos: " + name + " ... (starting PostgreSQL for the catalog)");
    Duration outage = quick ? Duration.ofSeconds(20) : Duration.ofSeconds(60);
    double rate = 300;
    try (LocalPostgres pg = LocalPostgres.start()) {
      String catalog = "  catalog: {uri: \"" + pg.jdbcUrl() + "\", username: " + pg.user() + "}";
      try (LakeChaos p = LakeChaos.start(stack, rate, outage.plusSeconds(40), y -> LakeChaos.commitEvery(Duration.ofSeconds(2))
          .apply(y.replaceFirst("(?m)^  catalog: \\{uri: \"jdbc:sqlite:[^\"]*\"}", java.util.regex.Matcher.quoteReplacement(catalog))))) {
        if (!java.nio.file.Files.readString(p.cfgFile).contains(pg.jdbcUrl())) {
          throw new IllegalStateException("the pipeline's lake section does not name the PostgreSQL catalog: see " + p.cfgFile);
        }
        LakeChaos.Outage seen = p.outage(outage, pg::stop, pg::resume);
        Instant back = Instant.now();
        long before = p.lake().delivered();
        double firstAck = p.firstAck(back, before);
        double caught = p.caughtUp(back);
        List<String> failed = new ArrayList<>();
        seen.check(failed, true); // the object store is up: readings are staged and acked, committed once it is back
        String note = "catalog database (PostgreSQL 15) stopped (-m immediate) for " + outage.toSeconds() + " s under load, restarted on the"
            + " same port and data; " + seen.describe();
        return LakeChaos.row(name, List.of(p.audit(audit)), firstAck, caught, note, failed);
      }
    }
  }
}
