/* db.h -- the MySQL/MariaDB connection every binary uses. Only common/db*.c
 * include mysql.h; they share struct db through db_internal.h.
 *
 * A db_t is one connection, used by one thread. Errors are kept in the
 * handle (db_error) and classified: a transient error (lost connection,
 * server gone, deadlock, lock wait timeout, read-only failover) means "retry
 * the whole transaction, maybe after db_reconnect()". */
#ifndef COUPONQ_DB_H
#define COUPONQ_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct db db_t;

/* mysql://user[:pass]@host[:port][,host2[:port2]...]/dbname. Connects to
 * the first listed server that answers and is writable (read_only and
 * innodb_read_only off); the others are skipped with a logged reason.
 * NULL with errstr when none is. */
db_t *db_connect(const char *mysql_url, char *errstr, size_t n);
void db_close(db_t *db); /* NULL is a no-op */
/* Closes the connection and picks the first writable server again (the
 * primary may have moved). 0 when connected again. */
int db_reconnect(db_t *db);

/* One statement without a result set (DDL, UPDATE, START TRANSACTION...). */
int db_exec(db_t *db, const char *sql);
int db_begin(db_t *db);
/* Refuses (error 1290, transient) when the server turned read-only since
 * we connected; the caller rolls back, reconnects and retries. */
int db_commit(db_t *db);
void db_rollback(db_t *db); /* best effort */

/* SELECT of a single integer (first column of first row); *found = 0 when
 * no row or NULL. */
int db_query_int(db_t *db, const char *sql, int64_t *out, int *found);

const char *db_error(const db_t *db);
unsigned db_errno(const db_t *db);
int db_is_transient(const db_t *db); /* last error is worth a retry */

#endif
