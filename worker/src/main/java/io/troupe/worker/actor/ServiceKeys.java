package io.troupe.worker.actor;

import io.troupe.worker.job.protocol.JobMessage;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/** Receptionist keys under which coordinators and workers find each other in the cluster. */
public final class ServiceKeys {
    /** Workers register their wire adapter under this key. */
    public static final ServiceKey<JobMessage> WORKERS = ServiceKey.create(JobMessage.class, "troupe-worker");
    /** The coordinator registers its wire adapter under this key. */
    public static final ServiceKey<JobMessage> COORDINATORS = ServiceKey.create(JobMessage.class,
            "troupe-coordinator");

    private ServiceKeys() {
    }
}
