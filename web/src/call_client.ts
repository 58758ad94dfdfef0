// The entry point: creates call agents and owns the device manager.

import { CallAgent, CallAgentOptions } from "./call_agent";
import { DeviceManager } from "./device_manager";
import { CallingError, EndReasons } from "./protocol";
import { TokenCredential } from "./token_credential";

export class CallClient {
  private devices?: DeviceManager;
  private agents = new Set<CallAgent>();

  /** Connects a new agent for the user of `credential`. Rejects with the service's reason
   * (401 bad/expired/revoked token, 403 no voip scope, 503 unreachable). */
  async createCallAgent(credential: TokenCredential, options: CallAgentOptions = {}): Promise<CallAgent> {
    if (!(credential instanceof TokenCredential)) {
      throw new CallingError(EndReasons.BAD_REQUEST, "createCallAgent needs a TokenCredential");
    }
    const devices = await this.getDeviceManager();
    const agent = new CallAgent(credential, options, devices);
    await agent.connect();
    this.agents.add(agent);
    return agent;
  }

  /** The browser's devices, and the selection every call uses. */
  async getDeviceManager(): Promise<DeviceManager> {
    if (!this.devices) {
      this.devices = new DeviceManager();
      this.devices.attach({
        calls: () => [...this.agents].flatMap((a) => a.calls),
      });
    }
    return this.devices;
  }
}
