using System.ComponentModel.DataAnnotations;

namespace Relay.Sender.Delivery;

public enum DeliveryMode
{
    /// <summary>Graph when <c>Graph:TenantId</c> is configured, otherwise Pickup.</summary>
    Auto,
    Graph,
    Pickup,
}

/// <summary>Configuration section <c>Delivery</c>: where accepted mail goes.</summary>
public sealed class DeliveryOptions
{
    public const string SectionName = "Delivery";

    public DeliveryMode Mode { get; set; } = DeliveryMode.Auto;

    /// <summary>Folder for .eml files in Pickup mode; relative paths are under the content root.</summary>
    [Required(ErrorMessage = "Delivery:PickupDirectory is required.")]
    public string PickupDirectory { get; set; } = "pickup";

    /// <summary>Folder for message bodies too large to hold in memory while they are delivered.</summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>Bodies up to this size stay in memory; larger ones are spooled to a file that is deleted afterwards.</summary>
    [Range(0, 64 * 1024 * 1024, ErrorMessage = "Delivery:MemoryThreshold must be between 0 and 64 MiB.")]
    public int MemoryThreshold { get; set; } = 1024 * 1024;
}

public sealed class DeliveryOptionsValidator : DataAnnotationsOptionsValidator<DeliveryOptions>;
