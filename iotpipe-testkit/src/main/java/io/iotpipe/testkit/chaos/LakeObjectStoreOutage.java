package io.iotpipe.testkit.chaos;

import io.iotpipe.testkit.LocalStack;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The object store unreachable under load: the S3 API server (s3proxy) is stopped — connections refused, as when the
 * store or the network to it is down — and restarted on the same port and data afterwards. The lake role must ack
 * nothing it could not commit, dead-letter no healthy reading, and say on {@code /health} that its sink is degraded;
 * afterwards every confirmed reading is in the table once.
 */
final class LakeObjectStoreOutage {

  private LakeObjectStoreOutage() {}

  static ChaosScenarios.Row run(LocalStack stack, boolean quick, ChaosScenarios.LakeAudit audit, Consumer<String> log) throws Exception {
    String name = "lake-object-store-outage";
    log.accept("chaos: " + name + " ...");
    Duration outage = quick ? Duration.ofSeconds(20) : Duration.ofSeconds(60);
    double rate = 300;
    try (LakeChaos p = LakeChaos.start(stack, rate, outage.plusSeconds(40), LakeChaos.commitEvery(Duration.ofSeconds(2)))) {
      LakeChaos.Outage seen = p.outage(outage, () -> stack.s3().stop(), () -> stack.s3().start());
      Instant back = Instant.now();
      long before = p.lake().delivered();
      double firstAck = p.firstAck(back, before);
      double caught = p.caughtUp(back);
      List<String> failed = new ArrayList<>();
      seen.check(failed, false); // nothing can be staged: nothing may be acked
      String note = "S3 API server (s3proxy) stopped for " + outage.toSeconds() + " s under load, restarted on the same port and data; "
          + seen.describe();
      return LakeChaos.row(name, List.of(p.audit(audit)), firstAck, caught, note, failed);
    } finally {
      stack.s3().start(); // whatever failed, the next scenario needs the object store
    }
  }
}
