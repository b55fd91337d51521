/// Namespace for module-level facts of ElideSearch.
public enum ElideSearchModule {
    public static let name = "ElideSearch"
}
