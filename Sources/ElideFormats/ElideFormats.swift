/// Namespace for module-level facts of ElideFormats.
public enum ElideFormatsModule {
    public static let name = "ElideFormats"
}
