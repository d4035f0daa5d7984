# frozen_string_literal: true

class CleanupProjectsRename < Gitlab::Database::Migration[2.1]
  disable_ddl_transaction!

  def up
    cleanup_concurrent_column_rename :projects, :old_path, :path
  end

  def down
    undo_cleanup_concurrent_column_rename :projects, :old_path, :path
  end
end
# verdict: manual: an app helper shipit cannot see; accepted, it still runs after the code
