/// Namespace for module-level facts of ElideModels.
public enum ElideModelsModule {
    public static let name = "ElideModels"
}
