package io.troupe.coordinator;

/** What a cluster node runs. */
public enum NodeRole {
    COORDINATOR("coordinator"),
    WORKER("worker");

    private final String clusterRole;

    NodeRole(String clusterRole) {
        this.clusterRole = clusterRole;
    }

    /** The Pekko Cluster role name. */
    public String clusterRole() {
        return clusterRole;
    }
}
