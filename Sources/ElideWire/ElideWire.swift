/// Namespace for module-level facts of ElideWire.
public enum ElideWireModule {
    public static let name = "ElideWire"
}
