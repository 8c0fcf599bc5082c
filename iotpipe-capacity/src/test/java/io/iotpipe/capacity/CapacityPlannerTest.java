package io.iotpipe.capacity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.iotpipe.capacity.CapacityPlanner.Input;
import io.iotpipe.capacity.CapacityPlanner.Plan;
import io.iotpipe.capacity.CapacityPlanner.Protocol;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every expected figure below was worked out by hand from the inputs and the profile (the arithmetic is in the comments). */
class CapacityPlannerTest {

  private static Map<String, Double> regions(Object... kv) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], (Double) kv[i + 1]);
    }
    return m;
  }

  /** The issue's example on the reference profile. */
  @Test
  void theIssuesExampleOnTheReferenceProfile() {
    Plan plan = CapacityPlanner.plan(new Input(100_000, Duration.ofSeconds(10), 250, 3,
        regions("eu", 0.5, "us", 0.3, "ap", 0.2), Duration.ofDays(90), 1, Duration.ofHours(2), Protocol.AMQP, true, 2),
        CapacityProfile.reference());

    // 100,000 / 10 s = 10,000 msg/s; x3 = 30,000
    assertThat(plan.value("cloud.averageMsgPerSec")).isEqualTo(10_000);
    assertThat(plan.value("cloud.peakMsgPerSec")).isEqualTo(30_000);
    // 250 + 206 AMQP + 22 TLS + 52 TCP/IP + 52 ack = 582; 21 + 22 + 52 = 95
    assertThat(plan.value("wire.deviceUplinkBytesPerReading")).isEqualTo(582);
    assertThat(plan.value("wire.deviceDownlinkBytesPerReading")).isEqualTo(95);
    // 456 x (1 + 52/1448) x (1 + 22/16384) = 456 x 1.0359116 x 1.0013428 = 473.01
    assertThat(plan.value("wire.wanBytesPerReading")).isCloseTo(473.01, within(0.01));
    // eu: 50,000 devices -> 5 sites of 10,000; a site peaks at 10,000 / 10 x 3 = 3,000 msg/s
    assertThat(plan.value("region.eu.edgeSites")).isEqualTo(5);
    assertThat(plan.value("region.eu.devicesPerSite")).isEqualTo(10_000);
    assertThat(plan.value("region.eu.site.deviceUplinkBytesPerSec")).isEqualTo(3000 * 582);
    assertThat(plan.value("region.eu.site.deviceDownlinkBytesPerSec")).isEqualTo(3000 * 95);
    assertThat(plan.value("region.eu.site.wanBytesPerSec")).isCloseTo(3000 * 473.01, within(30.0));
    assertThat(plan.value("region.eu.peakMsgPerSec")).isEqualTo(15_000);
    assertThat(plan.value("region.eu.wanBytesPerSec")).isCloseTo(15_000 * 473.01, within(150.0));
    assertThat(plan.value("region.us.edgeSites")).isEqualTo(3);
    assertThat(plan.value("region.ap.edgeSites")).isEqualTo(2);
    // 2 h at 3,000 msg/s = 21,600,000 messages x 250 B = 5.4 GB
    assertThat(plan.value("region.eu.site.edgeBufferMessages")).isEqualTo(21_600_000);
    assertThat(plan.value("region.eu.site.edgeBufferBytes")).isEqualTo(5_400_000_000.0);
    // partitions: ceil(30,000 / (3,900 x 0.7 = 2,730)) = 11; indexer/store need 2 each
    assertThat(plan.value("cloud.partitions")).isEqualTo(11);
    // nodes: ceil(30,000 x 2 sinks x 3 replicas / (9,600 x 0.7 = 6,720)) = ceil(26.79) = 27
    assertThat(plan.value("cloud.rabbitmqNodes")).isEqualTo(27);
    // ceil(30,000 / (20,594 x 0.7 = 14,416)) = 3, + 1 spare; store: ceil(30,000 / (28,406 x 0.7 = 19,884)) = 2, + 1
    assertThat(plan.value("cloud.indexerInstances")).isEqualTo(4);
    assertThat(plan.value("cloud.storeInstances")).isEqualTo(3);
    // 864,000,000 docs/day x 90 d x 120 B x 2 copies = 1.86624e13 B; disk: ceil(1.86624e13 / (2^40 x 0.85)) = ceil(19.97) = 20
    assertThat(plan.value("search.diskBytes")).isEqualTo(1.86624e13);
    assertThat(plan.value("search.nodes")).isEqualTo(20);
    // 864,000,000 x 16.1 B = 13.9104 GB/day; x 90 = 1,251.936 GB
    assertThat(plan.value("store.bytesPerDay")).isCloseTo(1.39104e10, within(1.0));
    assertThat(plan.value("store.bytesTotal")).isCloseTo(1.251936e12, within(10.0));
  }

  /** A profile of round numbers, to check each formula on its own. */
  private static final CapacityProfile ROUND = CapacityProfile.parse("round", """
      name: round numbers
      constants:
        indexerMsgPerSec: {value: 1000, source: test}
        storeMsgPerSec: {value: 500, source: test}
        searchDocsPerSecPerNode: {value: 2000, source: test}
        brokerQueueWritesPerSecPerNode: {value: 4000, source: test}
        quorumQueueMsgPerSec: {value: 100, source: test}
        quorumReplicas: {value: 3, source: test}
        edgeDevicesPerSite: {value: 300, source: test}
        parquetBytesPerRow: {value: 10, source: test}
        searchBytesPerDoc: {value: 100, source: test}
        searchDiskPerNodeBytes: {value: 1000000000, source: test}
        searchDiskWatermark: {value: 0.5, source: test}
        utilisation: {value: 0.5, source: test}
        amqpPublishOverheadBytes: {value: 100, source: test}
        amqpConfirmBytes: {value: 20, source: test}
        mqttPublishOverheadBytes: {value: 30, source: test}
        mqttPubackBytes: {value: 4, source: test}
        tlsRecordOverheadBytes: {value: 20, source: test}
        tlsMaxRecordBytes: {value: 1000, source: test}
        tcpIpHeaderBytes: {value: 50, source: test}
        tcpMssBytes: {value: 500, source: test}
      """.getBytes(StandardCharsets.UTF_8));

  @Test
  void mqttWithoutTlsOnRoundNumbers() {
    // 1,000 devices every 2 s = 500 msg/s; peak 2x = 1,000 msg/s
    Plan plan = CapacityPlanner.plan(new Input(1000, Duration.ofSeconds(2), 400, 2, regions("north", 0.7, "south", 0.3),
        Duration.ofDays(10), 0, Duration.ofMinutes(30), Protocol.MQTT, false, 2), ROUND);
    assertThat(plan.value("cloud.peakMsgPerSec")).isEqualTo(1000);
    // 400 + 30 MQTT + 50 + 50 = 530 up; 4 + 50 = 54 down
    assertThat(plan.value("wire.deviceUplinkBytesPerReading")).isEqualTo(530);
    assertThat(plan.value("wire.deviceDownlinkBytesPerReading")).isEqualTo(54);
    // shovel (AMQP even for MQTT devices): (400 + 100) x (1 + 50/500) = 550, no TLS
    assertThat(plan.value("wire.wanBytesPerReading")).isCloseTo(550, within(1e-9));
    // north: 700 devices -> ceil(700/300) = 3 sites of ceil(700/3) = 234 devices; site peak 234 / 2 x 2 = 234 msg/s
    assertThat(plan.value("region.north.edgeSites")).isEqualTo(3);
    assertThat(plan.value("region.north.devicesPerSite")).isEqualTo(234);
    assertThat(plan.value("region.north.site.deviceUplinkBytesPerSec")).isEqualTo(234 * 530);
    assertThat(plan.value("region.north.site.wanBytesPerSec")).isCloseTo(234 * 550, within(1e-6));
    assertThat(plan.value("region.north.wanBytesPerSec")).isCloseTo(700 * 550, within(1e-6));
    // 30 min x 234 msg/s = 421,200 messages x 400 B
    assertThat(plan.value("region.north.site.edgeBufferMessages")).isEqualTo(421_200);
    assertThat(plan.value("region.north.site.edgeBufferBytes")).isEqualTo(421_200 * 400.0);
    // south: 300 devices -> 1 site
    assertThat(plan.value("region.south.edgeSites")).isEqualTo(1);
    // partitions: max(ceil(1000 / 50) = 20, indexer ceil(1000/500) = 2, store ceil(1000/250) = 4) = 20
    assertThat(plan.value("cloud.partitions")).isEqualTo(20);
    // nodes: ceil(1000 x 2 x 3 / (4000 x 0.5)) = 3
    assertThat(plan.value("cloud.rabbitmqNodes")).isEqualTo(3);
    assertThat(plan.value("cloud.indexerInstances")).isEqualTo(2);
    assertThat(plan.value("cloud.storeInstances")).isEqualTo(4);
    // 500 msg/s x 86,400 = 43,200,000 docs/day x 10 d x 100 B x 1 copy = 43.2 GB; disk ceil(43.2e9 / 0.5e9) = 87 nodes
    assertThat(plan.value("search.diskBytes")).isEqualTo(4.32e10);
    assertThat(plan.value("search.nodes")).isEqualTo(87);
    assertThat(plan.value("store.bytesPerDay")).isEqualTo(4.32e8);
    assertThat(plan.value("store.bytesTotal")).isEqualTo(4.32e9);
  }

  @Test
  void replicasAddSpareInstancesAndSearchCopies() {
    Input base = new Input(1000, Duration.ofSeconds(2), 400, 2, regions("all", 1.0), Duration.ofDays(1), 0,
        Duration.ofMinutes(1), Protocol.AMQP, true, 2);
    Input two = new Input(1000, Duration.ofSeconds(2), 400, 2, regions("all", 1.0), Duration.ofDays(1), 2,
        Duration.ofMinutes(1), Protocol.AMQP, true, 2);
    Plan a = CapacityPlanner.plan(base, ROUND);
    Plan b = CapacityPlanner.plan(two, ROUND);
    assertThat(b.value("cloud.indexerInstances")).isEqualTo(a.value("cloud.indexerInstances") + 2);
    assertThat(b.value("search.diskBytes")).isEqualTo(a.value("search.diskBytes") * 3);
    // search by rate: ceil(1000 x 3 / (2000 x 0.5)) = 3; by disk: 43.2e6 x 100 x 3 = 12.96e9 / 0.5e9 = ceil(25.92) = 26
    assertThat(b.value("search.nodes")).isEqualTo(26);
    // TLS on AMQP: 400 + 100 + 20 + 50 + 50 = 620
    assertThat(a.value("wire.deviceUplinkBytesPerReading")).isEqualTo(620);
    // WAN with TLS: 500 x 1.1 x (1 + 20/1000) = 561
    assertThat(a.value("wire.wanBytesPerReading")).isCloseTo(561, within(1e-9));
  }

  @Test
  void everyLineNamesTheConstantsThatDroveIt() {
    Plan plan = CapacityPlanner.plan(new Input(100_000, Duration.ofSeconds(10), 250, 3, regions("eu", 0.5, "us", 0.5),
        Duration.ofDays(90), 1, Duration.ofHours(2), Protocol.AMQP, true, 2), CapacityProfile.reference());
    for (CapacityPlanner.Line l : plan.lines()) {
      assertThat(l.how()).as(l.key()).isNotBlank();
      if (!l.key().endsWith("MsgPerSec") && !l.key().endsWith(".devices")) {
        assertThat(l.constants()).as("constants behind %s", l.key()).isNotEmpty();
      }
      l.constants().forEach((k, v) -> assertThat(CapacityProfile.reference().get(k)).isEqualTo(v));
    }
    String text = CapacityPlanner.text(plan);
    assertThat(text).contains("cloud.rabbitmqNodes", "brokerQueueWritesPerSecPerNode=9,600", "region.eu.site.edgeBufferMessages");
  }

  @Test
  void theReferenceProfileNamesTheSourceOfEveryConstant() {
    CapacityProfile ref = CapacityProfile.reference();
    assertThat(ref.constants().keySet()).containsAll(CapacityProfile.REQUIRED);
    ref.constants().forEach((k, c) -> assertThat(c.source()).as(k).isNotBlank());
    assertThat(ref.constants().get("indexerMsgPerSec").source()).contains("bench index").contains("median");
  }

  @Test
  void aSavedProfileReadsBackAndDrivesThePlan() {
    CapacityProfile measured = CapacityProfile.reference().named("bench on host x")
        .with("indexerMsgPerSec", 10_000, "msg/s per indexer instance", "bench index, median of 3 rounds");
    CapacityProfile back = CapacityProfile.parse("saved", measured.toJson().getBytes(StandardCharsets.UTF_8));
    assertThat(back.name()).isEqualTo("bench on host x");
    assertThat(back.constants()).isEqualTo(measured.constants());
    Plan plan = CapacityPlanner.plan(new Input(100_000, Duration.ofSeconds(10), 250, 3, regions("eu", 1.0), Duration.ofDays(1), 0,
        Duration.ofHours(1), Protocol.AMQP, true, 2), back);
    // ceil(30,000 / (10,000 x 0.7)) = 5
    assertThat(plan.value("cloud.indexerInstances")).isEqualTo(5);
  }

  @Test
  void aBrokenProfileListsEveryProblemByKey() {
    assertThatThrownBy(() -> CapacityProfile.parse("mine.yaml", """
        constants:
          indexerMsgPerSec: {value: -3, source: bench}
          storeMsgPerSec: {value: 100}
        """.getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("constants.indexerMsgPerSec.value: must be a positive number")
        .hasMessageContaining("constants.storeMsgPerSec.source")
        .hasMessageContaining("constants.tcpMssBytes: missing");
  }

  @Test
  void inputsAreChecked() {
    assertThatThrownBy(() -> new Input(10, Duration.ofSeconds(1), 250, 3, regions("eu", 0.5, "us", 0.3), Duration.ofDays(1), 0,
        Duration.ofHours(1), Protocol.AMQP, true, 2)).hasMessageContaining("sum to 1");
    assertThatThrownBy(() -> new Input(10, Duration.ofSeconds(1), 250, 0.5, regions("eu", 1.0), Duration.ofDays(1), 0,
        Duration.ofHours(1), Protocol.AMQP, true, 2)).hasMessageContaining("--peak");
  }
}
