package io.troupe.worker.actor;

import io.troupe.protocol.serialization.ClusterMessage;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/** Receptionist keys under which coordinators and workers find each other in the cluster. */
public final class ServiceKeys {
    /** Workers register their wire adapter under this key. */
    public static final ServiceKey<ClusterMessage> WORKERS = ServiceKey.create(ClusterMessage.class, "troupe-worker");
    /** The coordinator registers its wire adapter under this key. */
    public static final ServiceKey<ClusterMessage> COORDINATORS = ServiceKey.create(ClusterMessage.class,
            "troupe-coordinator");

    private ServiceKeys() {
    }
}
