package io.iotpipe.benchcamel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.apache.camel.Exchange;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

class CamelStoreRouteTest {

  final CamelStoreRoute route = new CamelStoreRoute("q1", Path.of("/tmp/x"), 10_000, 20_000, "ZSTD", List.of("soc", "tempC"));

  @Test
  void theConsumerAcksByHandSoThatNothingIsAckedBeforeItsFileIsOnDisk() {
    assertThat(route.consumerUri()).contains("queues=q1", "acknowledgeMode=MANUAL", "prefetchCount=20000", "autoDeclare=false");
    // the file component renames a temporary file; the route's own step fsyncs (Camel 4.17 does not)
    assertThat(route.fileUri()).contains("tempPrefix=").doesNotContain("forceWrites");
  }

  @Test
  void aReadingBecomesARecordWithTheStoresColumns() {
    GenericRecord r = route.record(Map.of("deviceId", "d-1", "seq", 7, "ts", "2026-12-07T10:00:00.250Z", "site", "s-3",
        "metrics", Map.of("soc", 55.5, "tempC", 21)));
    assertThat(r.get("device_id")).isEqualTo("d-1");
    assertThat(r.get("seq")).isEqualTo(7L);
    assertThat(r.get("ts")).isEqualTo(java.time.Instant.parse("2026-12-07T10:00:00.250Z").toEpochMilli());
    assertThat(r.get("soc")).isEqualTo(55.5);
    assertThat(r.get("tempC")).isEqualTo(21.0);
    assertThat(r.get("status")).isNull();
  }

  @Test
  void aBatchRemembersItsHighestDeliveryTagForOneMultipleAck() throws Exception {
    try (DefaultCamelContext ctx = new DefaultCamelContext()) {
      CamelStoreRoute.Batch batch = new CamelStoreRoute.Batch(3);
      Exchange agg = null;
      for (long tag : new long[] {5, 7, 6}) {
        Exchange e = new DefaultExchange(ctx);
        e.getMessage().setBody("r" + tag);
        e.getMessage().setHeader(SpringRabbitMQConstants.DELIVERY_TAG, tag);
        agg = batch.aggregate(agg, e);
      }
      assertThat(agg.getMessage().getBody(List.class)).containsExactly("r5", "r7", "r6");
      assertThat(agg.getProperty(CamelStoreRoute.LAST_TAG, Long.class)).isEqualTo(7L);
    }
  }
}
