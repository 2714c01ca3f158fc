package io.troupe.data.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** The data audit's counts on hand-made documents. */
class DataAuditTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void countsGenderedTermsOccupationSkewCharactersAndLengths() {
        DataAudit audit = new DataAudit(WordPairs.gendered(), "built-in");
        for (int i = 0; i < 5; i++) {
            audit.add("The doctor said he would come. He is a good man.");
            audit.add("The nurse said she was tired.");
        }
        audit.add("x".repeat(100) + " 42 é");
        assertEquals(15, audit.maleTerms());
        assertEquals(5, audit.femaleTerms());
        assertEquals(3.0, audit.maleToFemale(), 1e-12);
        JsonNode json = audit.toJson(MAPPER, 10, 2, 1);
        assertEquals(11, json.path("documents").asInt());
        JsonNode top = json.path("occupations").path("top_skewed");
        // The doctor has 3 male terms within 10 words in each of its 5 documents; the nurse 1 female in 5.
        assertEquals("doctor", top.get(0).path("occupation").asText());
        assertEquals(15, top.get(0).path("male_nearby").asInt());
        assertEquals(1.0, top.get(0).path("male_share").asDouble(), 1e-12);
        assertEquals("nurse", top.get(1).path("occupation").asText());
        assertEquals(0.0, top.get(1).path("male_share").asDouble(), 1e-12);
        assertEquals(0.3, json.path("duplicates").path("rate").asDouble(), 1e-12);
        assertTrue(json.path("character_classes").path("digits").asDouble() > 0);
        assertTrue(json.path("letter_scripts").path("latin").asDouble() > 0.99);
        assertEquals(105, json.path("length_chars").path("max").asInt());
        assertEquals(29, json.path("length_chars").path("min").asInt());
        long inHistogram = 0;
        for (JsonNode b : json.path("length_chars").path("histogram")) {
            inHistogram += b.path("documents").asLong();
        }
        assertEquals(11, inHistogram);
        JsonNode summary = audit.summary(MAPPER, 10, 2, 1);
        assertEquals(3.0, summary.path("male_to_female").asDouble(), 1e-12);
        assertEquals("doctor", summary.path("top_skewed_occupations").get(0).path("occupation").asText());
        String html = AuditHtml.render(json, "data<set>");
        assertTrue(html.contains("<svg") && html.contains("data&lt;set&gt;") && html.contains("doctor"));
        assertFalse(html.replace("http://www.w3.org/2000/svg", "").contains("http"), "nothing loaded from elsewhere");
    }

    @Test
    void counterfactualCopiesBalanceTheRatio() {
        DataAudit audit = new DataAudit(WordPairs.gendered(), "built-in");
        Counterfactual cda = new Counterfactual(WordPairs.gendered(), null);
        String[] docs = {"He said the king and his sons rode out.", "The man thanked her.", "A quiet day."};
        for (String d : docs) {
            audit.add(d);
            audit.add(cda.swap(d).text());
        }
        assertEquals(1.0, audit.maleToFemale(), 1e-12);
    }
}
