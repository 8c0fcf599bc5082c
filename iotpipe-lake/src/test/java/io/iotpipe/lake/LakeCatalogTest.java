package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The catalog's settings end up in logs and reports (the demo's summary, errors): never its password or keys. */
class LakeCatalogTest {

  @Test
  void itsTextNamesWhereTheTableIsButNoSecret() {
    LakeCatalog c = new LakeCatalog("jdbc:postgresql://db/lake", "iotpipe", "pg-password-1", "s3://bucket/wh",
        "https://s3.example", true, "eu-west-1", "AKIAEXAMPLE", "secret-key-1");
    assertThat(c.toString()).contains("jdbc:postgresql://db/lake", "s3://bucket/wh", "https://s3.example")
        .doesNotContain("pg-password-1", "secret-key-1", "AKIAEXAMPLE");
  }
}
