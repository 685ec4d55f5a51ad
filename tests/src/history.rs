//! Photos' persistent history, written by hand: a change made to a testkit
//! library with plain SQL bypasses it, where Photos would record it. Tests
//! that stand in for Photos record their changes here, so that the export's
//! reading of the history is exercised as it runs against Photos.

use photovault_testkit::BuiltLibrary;

/// `ACHANGE.ZCHANGETYPE` of an updated row.
pub const UPDATE: i64 = 1;
/// `ACHANGE.ZCHANGETYPE` of a deleted row.
pub const DELETE: i64 = 2;

/// Records one transaction with these changes: entity name (`Asset`,
/// `Keyword`...), the row's key (an SQL expression) and the change type.
pub fn record(lib: &BuiltLibrary, changes: &[(&str, &str, i64)]) {
    let mut sql = "INSERT INTO ATRANSACTION (Z_ENT, Z_OPT, ZTIMESTAMP) \
                   VALUES ((SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'TRANSACTION'), 1, 0);"
        .to_string();
    for (entity, pk, kind) in changes {
        sql.push_str(&format!(
            "INSERT INTO ACHANGE (Z_ENT, Z_OPT, ZCHANGETYPE, ZENTITY, ZENTITYPK, ZTRANSACTIONID) \
             VALUES ((SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'CHANGE'), 1, {kind}, \
             (SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = '{entity}'), ({pk}), \
             (SELECT max(Z_PK) FROM ATRANSACTION));"
        ));
    }
    lib.execute(&sql).unwrap();
}
