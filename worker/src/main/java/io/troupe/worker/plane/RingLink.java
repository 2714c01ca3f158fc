package io.troupe.worker.plane;

import io.troupe.worker.job.GradientReducer;
import io.troupe.worker.job.ReductionException;
import java.net.InetSocketAddress;

/** One rank's place in a job's ring: its bound server and, once connected, the all-reduce. */
public interface RingLink extends GradientReducer {

    /** Where the predecessor connects. */
    InetSocketAddress address();

    /** Connects to the successor; blocking, at most the connect timeout. */
    void connect(InetSocketAddress successor) throws ReductionException;
}
