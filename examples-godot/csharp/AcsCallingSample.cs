// A minimal C# P/Invoke host of libacscalling, the shape a Unity plugin takes (see the
// README's "Game engines" section). Built by scripts/godot-csharp-sample.sh with Debian's
// mono-mcs and run with mono:
//   mono AcsCallingSample.exe                      -> version, a client in manual dispatch, no leak
//   mono AcsCallingSample.exe <service_url> <token> -> also signs in, pumping events like Update()
using System;
using System.Runtime.InteropServices;
using System.Text;

static class Acs
{
    const string Lib = "acscalling"; // libacscalling.so (LD_LIBRARY_PATH or next to the game)

    public const int DISPATCH_MANUAL = 1;
    public const int EVENT_AGENT_CONNECTION_STATE_CHANGED = 1;
    public const int AGENT_CONNECTED = 1;

    // Option structs start with struct_size; LayoutKind.Sequential gives C's layout on
    // x86_64 and arm64 (natural alignment), so Marshal.SizeOf is the C sizeof.
    [StructLayout(LayoutKind.Sequential)]
    public struct CallClientOptions
    {
        public uint struct_size;
        public int dispatch_mode;
        public IntPtr log_callback;
        public IntPtr log_user_data;
        public int log_level;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CallAgentOptions
    {
        public uint struct_size;
        public IntPtr service_url;   // UTF-8, copied by the library
        public IntPtr token;
        public IntPtr display_name;
        public IntPtr event_callback; // EventCallback, kept alive by the host
        public IntPtr event_user_data;
        public IntPtr token_refresher;
        public IntPtr token_refresher_user_data;
        public IntPtr ca_certificate_path;
    }

    // The first fields of acs_event (read only up to what the host needs).
    [StructLayout(LayoutKind.Sequential)]
    public struct Event
    {
        public uint struct_size;
        public int kind;
        public IntPtr agent, call, participant;
        public int state, code, subcode;
        [MarshalAs(UnmanagedType.I1)] public bool flag;
        public IntPtr message;
    }

    // Unity/IL2CPP: the target must be a static method marked [MonoPInvokeCallback].
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate void EventCallback(IntPtr userData, ref Event ev);

    [DllImport(Lib)] public static extern IntPtr acs_calling_version();
    [DllImport(Lib)] public static extern IntPtr acs_status_to_string(int status);
    [DllImport(Lib)] public static extern UIntPtr acs_last_error_message(byte[] buf, UIntPtr capacity);
    [DllImport(Lib)] public static extern int acs_call_client_options_init_sized(ref CallClientOptions o, UIntPtr size);
    [DllImport(Lib)] public static extern int acs_call_agent_options_init_sized(ref CallAgentOptions o, UIntPtr size);
    [DllImport(Lib)] public static extern int acs_call_client_create(ref CallClientOptions o, out IntPtr client);
    [DllImport(Lib)] public static extern int acs_call_client_create_call_agent(IntPtr client, ref CallAgentOptions o, out IntPtr agent);
    [DllImport(Lib)] public static extern int acs_call_client_dispatch_events(IntPtr client, uint timeoutMs, out uint dispatched);
    [DllImport(Lib)] public static extern int acs_call_agent_release(IntPtr agent);
    [DllImport(Lib)] public static extern int acs_call_client_release(IntPtr client);
    [DllImport(Lib)] public static extern UIntPtr acs_debug_live_handle_count();

    public static string Str(IntPtr p) { return p == IntPtr.Zero ? "" : Marshal.PtrToStringAnsi(p); }

    // Every status is checked: a failure throws with the library's own message.
    public static void Check(int status, string what)
    {
        if (status == 0) return;
        var buf = new byte[512];
        acs_last_error_message(buf, (UIntPtr)buf.Length);
        int n = Array.IndexOf(buf, (byte)0);
        throw new Exception(what + ": " + Str(acs_status_to_string(status)) + " " + Encoding.UTF8.GetString(buf, 0, n < 0 ? buf.Length : n));
    }

    public static IntPtr Utf8(string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s + "\0");
        IntPtr p = Marshal.AllocHGlobal(b.Length);
        Marshal.Copy(b, 0, p, b.Length);
        return p;
    }
}

static class Sample
{
    static int connectionState = -1;
    // Held in a static field: the library keeps the function pointer, the GC must not collect it.
    static readonly Acs.EventCallback OnEvent = Handle;

    static void Handle(IntPtr userData, ref Acs.Event ev)
    {
        // Runs inside acs_call_client_dispatch_events, i.e. on the thread that pumps (Update()).
        if (ev.kind == Acs.EVENT_AGENT_CONNECTION_STATE_CHANGED)
        {
            connectionState = ev.state;
            Console.WriteLine("connection state " + ev.state + " (" + ev.code + "/" + ev.subcode + ") " + Acs.Str(ev.message));
        }
    }

    static int Main(string[] args)
    {
        Console.WriteLine("libacscalling " + Acs.Str(Acs.acs_calling_version()));
        var copts = new Acs.CallClientOptions();
        Acs.Check(Acs.acs_call_client_options_init_sized(ref copts, (UIntPtr)Marshal.SizeOf(copts)), "client options");
        copts.dispatch_mode = Acs.DISPATCH_MANUAL;
        IntPtr client;
        Acs.Check(Acs.acs_call_client_create(ref copts, out client), "acs_call_client_create");
        IntPtr agent = IntPtr.Zero;
        int rc = 0;
        try
        {
            if (args.Length >= 2)
            {
                var aopts = new Acs.CallAgentOptions();
                Acs.Check(Acs.acs_call_agent_options_init_sized(ref aopts, (UIntPtr)Marshal.SizeOf(aopts)), "agent options");
                aopts.service_url = Acs.Utf8(args[0]);
                aopts.token = Acs.Utf8(args[1]);
                aopts.display_name = Acs.Utf8("C# sample");
                aopts.event_callback = Marshal.GetFunctionPointerForDelegate(OnEvent);
                try
                {
                    Acs.Check(Acs.acs_call_client_create_call_agent(client, ref aopts, out agent), "create_call_agent");
                }
                finally
                {
                    // The library copied the strings.
                    Marshal.FreeHGlobal(aopts.service_url);
                    Marshal.FreeHGlobal(aopts.token);
                    Marshal.FreeHGlobal(aopts.display_name);
                }
                // The game loop: pump events once a frame (here every 16 ms) for up to 10 s.
                var until = DateTime.UtcNow.AddSeconds(10);
                while (connectionState != Acs.AGENT_CONNECTED && DateTime.UtcNow < until)
                {
                    uint n;
                    Acs.Check(Acs.acs_call_client_dispatch_events(client, 16, out n), "dispatch_events");
                }
                if (connectionState != Acs.AGENT_CONNECTED) { Console.WriteLine("not signed in"); rc = 1; }
            }
            else
            {
                uint n;
                Acs.Check(Acs.acs_call_client_dispatch_events(client, 0, out n), "dispatch_events");
            }
        }
        finally
        {
            Acs.acs_call_agent_release(agent);
            Acs.acs_call_client_release(client);
        }
        ulong live = (ulong)Acs.acs_debug_live_handle_count();
        Console.WriteLine("live handles after release: " + live);
        return live == 0 ? rc : 1;
    }
}
