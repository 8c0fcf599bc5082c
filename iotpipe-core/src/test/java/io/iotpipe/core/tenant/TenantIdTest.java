package io.iotpipe.core.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class TenantIdTest {

  @Test
  void lowercaseLettersDigitsAndInnerHyphensUpTo32AreTenantIds() {
    for (String ok : List.of("a", "acme", "acme-charging", "t1", "0", "a".repeat(32), "a-b-c")) {
      assertThat(TenantId.valid(ok)).as(ok).isTrue();
    }
  }

  @Test
  void whatCouldBreakAnIndexNameOrWidenAPatternIsRefusedWithTheRule() {
    // '.' would let one tenant's name end like another's index suffix; '*' '_' ',' are index-pattern syntax or
    // separators; uppercase is not allowed in index names at all
    for (String bad : List.of("", "A", "acme.b", "a*", "a_b", "a,b", "-a", "a-", "a b", "a/b", "a".repeat(33), "ä")) {
      assertThat(TenantId.valid(bad)).as(bad).isFalse();
    }
    assertThatThrownBy(() -> TenantId.check("Acme.Corp"))
        .hasMessage("\"Acme.Corp\" is not a valid tenant id: use 1-32 characters from a-z 0-9 and '-', starting and ending with a letter or digit");
    assertThatThrownBy(() -> TenantId.check(null)).hasMessageContaining("\"null\" is not a valid tenant id");
  }

  @Test
  void aQuotedIdCannotForgeALogLine() {
    assertThatThrownBy(() -> TenantId.check("a\nERROR forged")).hasMessageNotContaining("\n");
  }
}
