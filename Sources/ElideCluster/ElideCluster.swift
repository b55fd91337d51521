/// Namespace for module-level facts of ElideCluster.
public enum ElideClusterModule {
    public static let name = "ElideCluster"
}
