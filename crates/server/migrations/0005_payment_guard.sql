-- An order's writes go to SQLite as one batch of statements that starts
-- with a guarded update (stock, price and balance allow it, or no row
-- changes). Inserting changes() into this view right after it stops the
-- batch there when the update changed nothing: the trigger aborts that one
-- statement (the transaction, and the other orders in it, stay) and the
-- statements after it never run, so a refusal writes nothing.
CREATE VIEW payment_guard AS SELECT 1 AS changed;

CREATE TRIGGER payment_guard_refuses INSTEAD OF INSERT ON payment_guard
WHEN NEW.changed <> 1
BEGIN
    SELECT RAISE(ABORT, 'livecart: the guarded update changed nothing');
END;
