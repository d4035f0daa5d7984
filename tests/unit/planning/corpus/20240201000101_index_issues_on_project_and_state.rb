# frozen_string_literal: true

class IndexIssuesOnProjectAndState < Gitlab::Database::Migration[2.1]
  TABLE_NAME = :issues
  INDEX_NAME = "index_issues_on_project_id_and_state_id_and_created_at"

  disable_ddl_transaction!
  milestone "16.4"

  def up
    add_index TABLE_NAME, [:project_id, :state_id, :created_at], name: INDEX_NAME, algorithm: :inplace
  end

  def down
    remove_index TABLE_NAME, name: INDEX_NAME
  end
end
# verdict: pre_deploy: an online index named by constants: additive
