//! The on-prem routes to the VPC, delivered to the management cluster's nodes as a
//! MachineConfig that writes a NetworkManager dispatcher script.
//!
//! The Machine Config Operator drains and reboots every node of the pool, one at a time, when
//! such a MachineConfig is created or changed, because a dispatcher script is not one of its
//! rebootless cases.

use std::fmt::Write as _;

use base64::Engine as _;
use tether_config::Checked;
use tether_model::{Address, Resource, Value};

use crate::cluster::kube_object;
use crate::marks::Owner;

/// Ignition file mode 0755; Ignition JSON has no octal literals.
const EXECUTABLE_MODE: i64 = 0o755;

/// Builds one MachineConfig per role in `onprem.machine_config_roles`, or none without routes.
pub(crate) fn machine_configs(checked: &Checked, owner: &Owner) -> Vec<Resource> {
    if checked.routes.is_empty() {
        return Vec::new();
    }
    let environment = &checked.environment.name;
    let script = dispatcher_script(checked);
    let source =
        format!("data:text/plain;charset=utf-8;base64,{}", base64::engine::general_purpose::STANDARD.encode(&script));
    let path = format!("/etc/NetworkManager/dispatcher.d/30-tether-{environment}-routes");

    checked
        .environment
        .onprem
        .machine_config_roles
        .iter()
        .map(|role| {
            let address = Address::cluster("machine_config", &format!("{role}-routes"));
            let name = format!("99-{role}-tether-{environment}-routes");
            let metadata =
                owner.kube_metadata(&address, &name, None, &[("machineconfiguration.openshift.io/role", role)]);
            let file = Value::map([
                ("path", Value::string(path.clone())),
                ("mode", Value::Int(EXECUTABLE_MODE)),
                ("overwrite", Value::Bool(true)),
                ("contents", Value::map([("source", Value::string(source.clone()))])),
            ]);
            let config = Value::map([
                ("ignition", Value::map([("version", Value::from("3.2.0"))])),
                ("storage", Value::map([("files", Value::List(vec![file]))])),
            ]);
            let spec = Value::map([("config", config)]);
            Resource::new(
                address,
                kube_object("machineconfiguration.openshift.io/v1", "MachineConfig", metadata, [("spec", spec)]),
            )
        })
        .collect()
}

/// Writes the dispatcher script. NetworkManager runs it with the interface and the event, and
/// on the events that (re)configure an interface it adds that interface's routes. `ip route
/// replace` makes it idempotent.
fn dispatcher_script(checked: &Checked) -> String {
    let mut script = String::from("#!/bin/bash\n");
    let _ = writeln!(
        script,
        "# Managed by tether (environment {}): routes from this node to the AWS VPC.",
        checked.environment.name
    );
    script.push_str("interface=\"$1\"\nevent=\"$2\"\n");
    script.push_str("case \"$event\" in\n  up|reapply|dhcp4-change) ;;\n  *) exit 0 ;;\nesac\n");
    let mut devices: Vec<&str> = checked.routes.iter().map(|route| route.device.as_str()).collect();
    devices.sort_unstable();
    devices.dedup();
    for device in devices {
        let _ = writeln!(script, "if [ \"$interface\" = \"{device}\" ]; then");
        for route in checked.routes.iter().filter(|route| route.device == device) {
            let _ = writeln!(script, "  ip route replace {} via {} dev {device}", route.destination, route.gateway);
        }
        script.push_str("fi\n");
    }
    script
}
