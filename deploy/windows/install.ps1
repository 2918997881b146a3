<#
.SYNOPSIS
    Installs Relay.Sender and Relay.Smtp as Windows services (relay-sender, relay-smtp).

.DESCRIPTION
    Copies the two publish folders under -InstallRoot, creates both services (automatic start, restart on failure,
    relay-smtp depending on relay-sender), runs each as its own virtual account (NT SERVICE\relay-sender,
    NT SERVICE\relay-smtp), and gives each its settings as service environment variables
    (HKLM\SYSTEM\CurrentControlSet\Services\<name>\Environment). Settings use Relay's keys with ':' written '__'.

    Secrets: the Graph client secret given here is stored DPAPI-protected (dpapi:..., made by 'Relay.Sender.exe
    protect-secret --scope LocalMachine') in the service's Environment value. LocalMachine because this script runs as
    an administrator, not as NT SERVICE\relay-sender: a CurrentUser blob made here would open only for the
    administrator. A LocalMachine blob opens on this machine only, but for any account on it, and local users can read
    the Environment value: it keeps the secret out of registry exports, backups and copies to other machines, not away
    from this machine's users. For production prefer a certificate (Graph__CertificatePath, file readable only by
    NT SERVICE\relay-sender) or Key Vault (ConnectionStrings__secrets), see README.md. User secrets are read only in
    the Development environment, so they are for a developer's machine, not for a service.

    Publish first, from the repository root:
        dotnet publish src/Relay.Sender -c Release -r win-x64 --self-contained false -o out\sender
        dotnet publish src/Relay.Smtp   -c Release -r win-x64 --self-contained false -o out\smtp

    Both services run under the service control manager through Microsoft.Extensions.Hosting.WindowsServices: they
    report Running once Kestrel listens and stop cleanly on "Stop-Service".

.EXAMPLE
    .\install.ps1 -SenderPublishDir ..\..\out\sender -SmtpPublishDir ..\..\out\smtp `
        -GraphTenantId 0000... -GraphClientId 0000... -GraphClientSecret (Read-Host -AsSecureString) `
        -Account printer -AllowedSenders '*@contoso.com'
#>
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $SenderPublishDir,
    [Parameter(Mandatory)] [string] $SmtpPublishDir,
    [string] $InstallRoot = (Join-Path $env:ProgramFiles 'Relay'),
    [string] $DataRoot = (Join-Path $env:ProgramData 'Relay'),
    [string] $SenderUrl = 'http://127.0.0.1:5080',
    [string] $SmtpBindAddress = '0.0.0.0',
    [int] $SmtpPort = 587,
    [int] $SmtpHealthPort = 8025,
    [string] $GraphTenantId,
    [string] $GraphClientId,
    [securestring] $GraphClientSecret,
    # One relay account: the script asks for its password and stores only the hash.
    [string] $Account,
    [string[]] $AllowedSenders = @(),
    # More settings, e.g. @{ 'Smtp__Tls__CertificatePath' = 'C:\Relay\tls\cert.pem' }.
    [hashtable] $SenderSettings = @{},
    [hashtable] $SmtpSettings = @{}
)
$ErrorActionPreference = 'Stop'

function Install-RelayService([string] $Name, [string] $DisplayName, [string] $Source, [string] $Exe, [hashtable] $Environment, [string[]] $DependsOn = @()) {
    $target = Join-Path $InstallRoot ($Name -replace '^relay-', '')
    if (Get-Service $Name -ErrorAction SilentlyContinue) {
        Stop-Service $Name -ErrorAction SilentlyContinue
    }
    New-Item -ItemType Directory -Force $target | Out-Null
    Copy-Item -Recurse -Force (Join-Path $Source '*') $target

    $binary = '"{0}"' -f (Join-Path $target $Exe)
    if (-not (Get-Service $Name -ErrorAction SilentlyContinue)) {
        $arguments = @{ Name = $Name; DisplayName = $DisplayName; BinaryPathName = $binary; StartupType = 'Automatic' }
        if ($DependsOn.Count -gt 0) { $arguments.DependsOn = $DependsOn }
        New-Service @arguments | Out-Null
    } else {
        sc.exe config $Name binPath= $binary start= auto | Out-Null
    }
    # Its own virtual account: no password to manage, and file ACLs can name it.
    sc.exe config $Name obj= "NT SERVICE\$Name" | Out-Null
    sc.exe description $Name "$DisplayName (SMTP-to-Microsoft-Graph relay)" | Out-Null
    sc.exe failure $Name reset= 86400 actions= restart/5000/restart/5000/restart/60000 | Out-Null

    $lines = $Environment.GetEnumerator() | Where-Object { $null -ne $_.Value -and "$($_.Value)" -ne '' } |
        Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Value)" }
    Set-ItemProperty -Path "HKLM:\SYSTEM\CurrentControlSet\Services\$Name" -Name Environment -Type MultiString -Value ([string[]] $lines)
}

# Relay.Sender
$pickup = Join-Path $DataRoot 'sender\pickup'
New-Item -ItemType Directory -Force $pickup | Out-Null
$sender = @{
    'ASPNETCORE_URLS' = $SenderUrl
    'Delivery__PickupDirectory' = $pickup
    'Graph__TenantId' = $GraphTenantId
    'Graph__ClientId' = $GraphClientId
}
if ($GraphClientSecret) {
    # Protected before it is written anywhere (see Secrets above for why LocalMachine); the service unprotects it at start.
    # Entra client secrets are ASCII, so Windows PowerShell's pipe encoding does not alter them.
    $plainSecret = [System.Net.NetworkCredential]::new('', $GraphClientSecret).Password
    $protectedSecret = ($plainSecret | & (Join-Path $SenderPublishDir 'Relay.Sender.exe') protect-secret --scope LocalMachine)
    $plainSecret = $null
    if ($LASTEXITCODE -ne 0) { throw "protect-secret failed" }
    $sender['Graph__ClientSecret'] = "$protectedSecret".Trim()
}
if ($Account) {
    $password = Read-Host -AsSecureString "Password for relay account '$Account'"
    $plain = [System.Net.NetworkCredential]::new('', $password).Password
    $hash = ($plain | & (Join-Path $SenderPublishDir 'Relay.Sender.exe') hash-password).Trim()
    if ($LASTEXITCODE -ne 0) { throw "hash-password failed" }
    $sender["Identity__Accounts__${Account}__PasswordHash"] = $hash
    for ($i = 0; $i -lt $AllowedSenders.Count; $i++) {
        $sender["Identity__Accounts__${Account}__AllowedSenders__$i"] = $AllowedSenders[$i]
    }
}
foreach ($key in $SenderSettings.Keys) { $sender[$key] = $SenderSettings[$key] }
Install-RelayService 'relay-sender' 'Relay.Sender' $SenderPublishDir 'Relay.Sender.exe' $sender
# The pickup folder is the one place the Sender writes.
icacls $pickup /grant 'NT SERVICE\relay-sender:(OI)(CI)M' | Out-Null

# Relay.Smtp
$smtp = @{
    'services__sender__http__0' = $SenderUrl
    'Smtp__BindAddress' = $SmtpBindAddress
    'Smtp__Port' = $SmtpPort
    'Smtp__HealthPort' = $SmtpHealthPort
}
foreach ($key in $SmtpSettings.Keys) { $smtp[$key] = $SmtpSettings[$key] }
Install-RelayService 'relay-smtp' 'Relay.Smtp' $SmtpPublishDir 'Relay.Smtp.exe' $smtp -DependsOn 'relay-sender'

if (-not (Get-NetFirewallRule -Name 'relay-smtp' -ErrorAction SilentlyContinue)) {
    New-NetFirewallRule -Name 'relay-smtp' -DisplayName 'Relay SMTP' -Direction Inbound -Protocol TCP -LocalPort $SmtpPort -Action Allow | Out-Null
}

Start-Service relay-sender
Start-Service relay-smtp
Get-Service relay-sender, relay-smtp
Write-Host "Ready check: Invoke-WebRequest http://127.0.0.1:$SmtpHealthPort/health (Relay.Smtp)."
