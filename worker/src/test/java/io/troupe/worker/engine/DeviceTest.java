package io.troupe.worker.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DeviceTest {

    @Test
    void parsesCpuAndCudaOrdinals() {
        assertEquals(new Device.Cpu(), Device.parse("cpu"));
        assertEquals(new Device.Cuda(0), Device.parse("cuda:0"));
        assertEquals(new Device.Cuda(7), Device.parse("cuda:7"));
        assertEquals(new Device.Cuda(12), Device.parse("cuda:12"));
    }

    @Test
    void printsTheFormItParses() {
        for (String text : new String[] {"cpu", "cuda:0", "cuda:3"}) {
            assertEquals(text, Device.parse(text).toString());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "CPU", "gpu", "cuda", "cuda:", "cuda:-1", "cuda:+1", "cuda:x", "cuda:0:1",
            " cpu", "cuda 0", "cuda:99999999999"})
    void rejectsEverythingElseNamingTheAcceptedForms(String text) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Device.parse(text));
        assertTrue(error.getMessage().contains("'cpu' or 'cuda:N'"), error.getMessage());
        assertTrue(error.getMessage().contains("'" + text + "'"), error.getMessage());
    }

    @Test
    void rejectsNullAndNegativeOrdinals() {
        assertThrows(IllegalArgumentException.class, () -> Device.parse(null));
        assertThrows(IllegalArgumentException.class, () -> Device.cuda(-1));
    }
}
