package io.iotpipe.core.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TenantRegistryTest {

  @TempDir
  Path dir;

  @Test
  void devicesAreAssignedReassignedAndRemoved() {
    TenantRegistry r = new TenantRegistry(dir.resolve("tenants.tsv"));
    assertThat(r.tenantOf("evc-1")).as("no file yet: no tenant").isNull();
    r.assign(List.of("evc-1", "evc-2"), "acme");
    r.assign(List.of("evc-3"), "globex");
    assertThat(new TenantRegistry(r.file()).devices()).isEqualTo(Map.of("evc-1", "acme", "evc-2", "acme", "evc-3", "globex"));
    r.assign(List.of("evc-2"), "globex");
    r.remove(List.of("evc-1"));
    assertThat(new TenantRegistry(r.file()).devices()).isEqualTo(Map.of("evc-2", "globex", "evc-3", "globex"));
  }

  @Test
  void theWriterSeesItsOwnAssignmentAtOnce() {
    TenantRegistry r = new TenantRegistry(dir.resolve("tenants.tsv"));
    assertThat(r.tenantOf("evc-1")).isNull();
    r.assign(List.of("evc-1"), "acme");
    assertThat(r.tenantOf("evc-1")).isEqualTo("acme");
    r.assign(List.of("evc-1"), "bolt");
    assertThat(r.tenantOf("evc-1")).isEqualTo("bolt");
  }

  @Test
  void aReassignmentInTheSameModificationTimeTickAndOfTheSameSizeIsStillSeen() throws Exception {
    TenantRegistry writer = new TenantRegistry(dir.resolve("tenants.tsv"));
    writer.assign(List.of("evc-1"), "acme");
    java.nio.file.attribute.FileTime tick = Files.getLastModifiedTime(writer.file());
    TenantRegistry reader = new TenantRegistry(writer.file());
    assertThat(reader.tenantOf("evc-1")).isEqualTo("acme");
    writer.assign(List.of("evc-1"), "bolt");
    // a file system whose clock ticks in seconds: same time, same size, other content
    Files.setLastModifiedTime(writer.file(), tick);
    Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> "bolt".equals(reader.tenantOf("evc-1")));
  }

  @Test
  void aRunningReaderSeesADeviceEnrolledAfterItStarted() {
    TenantRegistry reader = new TenantRegistry(dir.resolve("tenants.tsv"));
    assertThat(reader.tenantOf("evc-9")).isNull();
    new TenantRegistry(reader.file()).assign(List.of("evc-9"), "acme");
    Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> "acme".equals(reader.tenantOf("evc-9")));
  }

  @Test
  void anInvalidTenantIsNeitherWrittenNorRead() throws Exception {
    TenantRegistry r = new TenantRegistry(dir.resolve("tenants.tsv"));
    assertThatThrownBy(() -> r.assign(List.of("evc-1"), "Acme")).hasMessageContaining("not a valid tenant id");
    Files.writeString(r.file(), "evc-1\tacme\nevc-2\tAcme.Corp\n");
    // a broken registry stops the pipeline instead of giving readings no tenant or the wrong one
    assertThatThrownBy(() -> new TenantRegistry(r.file()).devices())
        .hasMessageContaining("line 2 is not 'deviceId<TAB>tenant'").hasMessageContaining("iotpipe device enroll --tenant");
  }
}
