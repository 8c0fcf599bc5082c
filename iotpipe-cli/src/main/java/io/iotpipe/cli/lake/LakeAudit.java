package io.iotpipe.cli.lake;

import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;
import io.iotpipe.lake.LakeReader;
import io.iotpipe.lake.LakeSection;
import io.iotpipe.simulator.Ledger;

/**
 * The audit of the lake's table against a ledger. Here rather than in iotpipe-audit: the lake's tests use the test
 * kit, which uses iotpipe-audit, so iotpipe-audit cannot depend on iotpipe-lake.
 */
public final class LakeAudit {

  private LakeAudit() {}

  /** Every row of the table's current snapshot, for the ledger's devices; a table not created yet holds nothing. */
  public static Completeness.Result audit(LakeSection.Settings settings, Ledger ledger) {
    Completeness c = Auditor.expected(ledger);
    try (LakeReader r = new LakeReader(settings)) {
      if (r.exists()) {
        r.keys((d, s) -> {
          if (ledger.devices().containsKey(d)) {
            c.observe(d, s);
          }
        });
      }
    }
    return c.result();
  }
}
