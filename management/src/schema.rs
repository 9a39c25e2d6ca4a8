//! Management's tables, migrated under the module name `management` (see the store's
//! `ModuleDb`): orchestration neither reads nor writes them.

use fulcrum_store::ModuleMigration;

/// Every migration of management's tables, in order.
pub const MIGRATIONS: &[ModuleMigration] = &[
    ModuleMigration {
        version: 1,
        name: "audit",
        sql: include_str!("../migrations/0001_audit.sql"),
    },
    ModuleMigration {
        version: 2,
        name: "alerts",
        sql: include_str!("../migrations/0002_alerts.sql"),
    },
    ModuleMigration {
        version: 3,
        name: "devices",
        sql: include_str!("../migrations/0003_devices.sql"),
    },
    ModuleMigration {
        version: 4,
        name: "backups",
        sql: include_str!("../migrations/0004_backups.sql"),
    },
    ModuleMigration {
        version: 5,
        name: "campaigns",
        sql: include_str!("../migrations/0005_campaigns.sql"),
    },
    ModuleMigration {
        version: 6,
        name: "backup_schedules",
        sql: include_str!("../migrations/0006_backup_schedules.sql"),
    },
    ModuleMigration {
        version: 7,
        name: "licenses",
        sql: include_str!("../migrations/0007_licenses.sql"),
    },
    ModuleMigration {
        version: 8,
        name: "secret_key_check",
        sql: include_str!("../migrations/0008_secret_key_check.sql"),
    },
];
