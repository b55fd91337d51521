/// Namespace for module-level facts of ElideEngine.
public enum ElideEngineModule {
    public static let name = "ElideEngine"
}
