class SafetyAssuredRemoval < ActiveRecord::Migration[7.1]
  def change
    safety_assured { remove_column :users, :ssn, :string }
  end
end
# verdict: manual: safety_assured silences the linter, but User still caches ssn
