package io.iotpipe.cli.index;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.cli.Main;
import io.iotpipe.core.envelope.Telemetry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code reindex --tenant}: only that tenant's readings go to the engine, and an invalid id is a usage error. */
class ReindexTenantTest {

  private static Telemetry reading(String device, long seq, String tenant) {
    Telemetry t = new Telemetry(device, seq, Instant.parse("2026-12-07T10:00:00Z").plusSeconds(seq), "site", "eu",
        "CHARGING", null, Map.of("powerKw", 7.0));
    return tenant == null ? t : t.withTenant(tenant);
  }

  @Test
  void onlyTheTenantsReadingsAreReplayedInTheStoresOrder() {
    List<Telemetry> store = List.of(reading("a-1", 1, "a"), reading("b-1", 1, "b"), reading("x-1", 1, null),
        reading("a-1", 2, "a"), reading("ab-1", 1, "a-b"));
    List<String> sent = new ArrayList<>();
    ReindexCommand.ofTenant(store.iterator(), "a").forEachRemaining(t -> sent.add(t.id()));
    assertThat(sent).containsExactly(reading("a-1", 1, "a").id(), reading("a-1", 2, "a").id());

    List<String> all = new ArrayList<>();
    ReindexCommand.ofTenant(store.iterator(), null).forEachRemaining(t -> all.add(t.id()));
    assertThat(all).hasSize(5);
  }

  @Test
  void anInvalidTenantIdIsAUsageErrorNamingTheRule() {
    var cli = Main.commandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err, true));
    cli.setOut(new PrintWriter(new StringWriter(), true));
    int code = cli.execute("reindex", "--tenant", "Tenant.A", "--config", "/nonexistent.yaml");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--tenant Tenant.A").contains("a-z 0-9");
  }
}
