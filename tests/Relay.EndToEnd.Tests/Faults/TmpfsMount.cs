namespace Relay.EndToEnd.Tests.Faults;

/// <summary>
/// A small tmpfs mounted on a fresh temporary folder: a disk that can really be filled, without touching any disk the
/// machine uses. Needs Linux and root with CAP_SYS_ADMIN (as CI runs); anything else fails the test, saying so.
/// Always unmounted on dispose.
/// </summary>
internal sealed class TmpfsMount : IAsyncDisposable
{
    private const string FillerName = "filler.bin";

    private TmpfsMount(string path) => Path = path;

    public string Path { get; }

    public static async Task<TmpfsMount> MountAsync(string size)
    {
        Assert.True(OperatingSystem.IsLinux(), "The disk-full scenarios mount a tmpfs, which needs Linux.");
        var folder = Directory.CreateTempSubdirectory("relay-disk-full-");
        var mount = await ExternalTool.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={size},mode=0700", "relay-faults", folder.FullName], timeout: TimeSpan.FromSeconds(30));
        if (mount.ExitCode != 0)
        {
            folder.Delete();
            Assert.Fail($"The disk-full scenarios need a small tmpfs ('mount -t tmpfs'), which needs root with CAP_SYS_ADMIN; mounting failed: {mount}");
        }
        return new TmpfsMount(folder.FullName);
    }

    /// <summary>Fills the file system with a filler file until at most <paramref name="leave"/> bytes are free.</summary>
    public void Fill(int leave)
    {
        using var filler = new FileStream(System.IO.Path.Combine(Path, FillerName), FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        var free = new DriveInfo(Path).AvailableFreeSpace;
        filler.Write(new byte[Math.Max(0, free - leave)]);
        Assert.True(new DriveInfo(Path).AvailableFreeSpace <= leave, $"The tmpfs still has {new DriveInfo(Path).AvailableFreeSpace} bytes free");
    }

    /// <summary>Deletes the filler: the disk has room again.</summary>
    public void Free() => File.Delete(System.IO.Path.Combine(Path, FillerName));

    /// <summary>The files in it other than the filler.</summary>
    public IReadOnlyList<string> Files() =>
        [.. Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).Where(name => name != FillerName).Select(name => name!)];

    public async ValueTask DisposeAsync()
    {
        var unmount = await ExternalTool.RunAsync("umount", [Path], timeout: TimeSpan.FromSeconds(30));
        if (unmount.ExitCode != 0)
        {
            // Something still has a file open there: detach it now, the kernel frees it when the last file closes.
            await ExternalTool.RunAsync("umount", ["--lazy", Path], timeout: TimeSpan.FromSeconds(30));
        }
        Directory.Delete(Path);
    }
}
