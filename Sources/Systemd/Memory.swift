import CSystemd

/// Returns memory freed by the process to the system (glibc malloc_trim(3)), so a daemon's RSS shows its steady
/// state after a burst of work such as planning.
public func releaseFreedMemory() { _ = guanhuai_malloc_trim() }
