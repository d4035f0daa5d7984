class GhOstAlterBuiltAtRunTime < ActiveRecord::Migration[7.0]
  COLUMNS = %w[a b c].freeze

  def up
    alter = COLUMNS.map { |c| "ADD COLUMN #{c} INT" }.join(", ")
    system(%(gh-ost --table=metrics --alter="#{alter}" --execute))
  end
end
# verdict: manual: the --alter clause is computed when the migration runs: nobody can stage it from the file
# reason: could not read this gh-ost call
