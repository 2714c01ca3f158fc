package io.troupe.ops.serve.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class RecentRequestsTest {
    private static RecentRequests.Answered answer(String text) {
        return new RecentRequests.Answered("m", 1, "classify", List.of(text), List.of("pos"));
    }

    @Test
    void theOldestIsForgottenPastTheCountOrTheCharacterBudget() {
        RecentRequests byCount = new RecentRequests(2, 1_000);
        byCount.remember("a", answer("x"));
        byCount.remember("b", answer("y"));
        byCount.remember("c", answer("z"));
        assertNull(byCount.find("a"));
        assertNotNull(byCount.find("b"));
        assertEquals(2, byCount.size());

        RecentRequests byChars = new RecentRequests(100, 20); // each answer is 10 + 3 characters
        byChars.remember("a", answer("0123456789"));
        assertNotNull(byChars.find("a"));
        byChars.remember("b", answer("0123456789"));
        assertNull(byChars.find("a"), "two answers are 26 characters, over the budget of 20");
        assertNotNull(byChars.find("b"));
        byChars.remember("huge", answer("x".repeat(50)));
        assertEquals(0, byChars.size(), "an answer larger than the whole budget is not kept either");
    }
}
